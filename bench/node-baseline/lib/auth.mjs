// The handshake checks of PROTOCOL §3 that need no store: token present, HS256 signature with
// the access secret (no other algorithm), issuer, expiry with 5 s leeway, `typ: "access"`, and
// the user type fitting the namespace. rodando-server also looks the user and the session up in
// its store (steps 4-6); this baseline trusts the claims, so it does strictly less per handshake.

import jwt from "jsonwebtoken";

export const LEEWAY_S = 5;

/** Which user type each namespace admits. */
export const NAMESPACE_USER_TYPE = {
  "/drivers": "driver",
  "/passengers": "passenger",
  "/admin": "admin",
};

/** A refusal whose message is exactly the protocol code (clients branch on it). */
export class Refusal extends Error {
  constructor(code) {
    super(code);
    this.data = { code };
  }
}

function stripBearer(token) {
  const t = token.trim();
  return t.slice(0, 7).toLowerCase() === "bearer " ? t.slice(7).trim() : t;
}

/** `auth.token` (a `Bearer ` prefix tolerated), else `Authorization: Bearer <token>`. */
export function tokenFrom(auth, headers) {
  if (auth && typeof auth.token === "string") {
    const t = stripBearer(auth.token);
    if (t) return t;
  }
  const header = headers?.authorization;
  if (typeof header === "string") {
    const [scheme, ...rest] = header.trim().split(" ");
    const t = rest.join(" ").trim();
    if (scheme.toLowerCase() === "bearer" && t) return t;
  }
  return null;
}

/**
 * Verifies `token` for `namespace`; returns the principal `{userId, sessionId, userType,
 * expiresAtMs}` or throws a {@link Refusal}.
 */
export function authenticate(token, namespace, config) {
  if (!token) throw new Refusal("missing_token");
  let claims;
  try {
    claims = jwt.verify(token, config.accessSecret, {
      algorithms: ["HS256"],
      issuer: config.issuer,
      clockTolerance: LEEWAY_S,
    });
  } catch (e) {
    throw new Refusal(e?.name === "TokenExpiredError" ? "token_expired" : "invalid_token");
  }
  if (
    claims.typ !== "access" ||
    typeof claims.sub !== "string" ||
    typeof claims.sid !== "string" ||
    typeof claims.exp !== "number"
  ) {
    throw new Refusal("invalid_token");
  }
  if (NAMESPACE_USER_TYPE[namespace] !== claims.userType) throw new Refusal("forbidden_namespace");
  return {
    userId: claims.sub,
    sessionId: claims.sid,
    userType: claims.userType,
    expiresAtMs: claims.exp * 1000,
  };
}

/** Sockets per user on this process, for `MAX_CONNECTIONS_PER_USER`. */
export class ConnectionCounter {
  #open = new Map();

  /** Takes a slot or throws `too_many_connections`; returns the release function (idempotent). */
  acquire(userId, max) {
    const n = this.#open.get(userId) ?? 0;
    if (n >= max) throw new Refusal("too_many_connections");
    this.#open.set(userId, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#open.get(userId) ?? 1) - 1;
      if (left <= 0) this.#open.delete(userId);
      else this.#open.set(userId, left);
    };
  }
}
