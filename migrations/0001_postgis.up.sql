-- Geography points, distances on the sphere and GiST/KNN indexes for the nearest-driver query.
CREATE EXTENSION IF NOT EXISTS postgis;
