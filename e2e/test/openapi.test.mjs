// The served OpenAPI document passes an independent validator (@apidevtools/swagger-parser, the
// one client generators commonly run first), not only our own route-table check
// (crates/adapter-http/tests/openapi.rs).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import SwaggerParser from '@apidevtools/swagger-parser';


import { suiteServer } from '../lib/suite.mjs';

describe('openapi', () => {
  const server = suiteServer();

  test('GET /api/openapi.json is a valid OpenAPI 3.1 document', async () => {
    const res = await fetch(`${server.url}/api/openapi.json`);
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.match(doc.openapi, /^3\.1\./);
    assert.equal(doc.info.license.identifier, 'MIT', 'SPDX identifier of the licence');
    // Throws, naming the JSON path, on the first schema violation or unresolved $ref.
    const api = await SwaggerParser.validate(structuredClone(doc));
    assert.ok(Object.keys(api.paths).length > 5, 'paths survived validation');
  });
});
