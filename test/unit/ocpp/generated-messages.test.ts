import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { Ajv } from 'ajv';
import rpcSchemas from 'ocpp-rpc/lib/schemas/ocpp1_6.json' with { type: 'json' };
import { describe, expect, it } from 'vitest';
import { OCPP16_SCHEMAS } from '../../../functions/ocpp/domain/ocpp16-schemas.generated.ts';
import { generateOcppSources } from '../../../scripts/generate-ocpp-types.ts';

const REPO_ROOT = new URL('../../../', import.meta.url);

describe('the generated OCPP 1.6 message types and schemas', () => {
  it('are what the generator writes from functions/ocpp/schema/ocpp1.6 (run `npm run generate:ocpp` after changing a schema)', () => {
    for (const [path, expected] of generateOcppSources()) {
      const committed = readFileSync(new URL(path, REPO_ROOT), 'utf8');
      expect(committed === expected, `${path} is stale: run npm run generate:ocpp`).toBe(true);
    }
  });

  it('are valid draft-07 schemas that compile (the validator skips this check to start faster)', () => {
    const ajv = new Ajv({ strictSchema: false, validateFormats: false });
    for (const [id, schema] of Object.entries(OCPP16_SCHEMAS)) {
      expect(ajv.validateSchema(schema), `${id}: ${ajv.errorsText(ajv.errors)}`).toBe(true);
      expect(() => ajv.compile(schema), id).not.toThrow();
    }
  });

  it("say what ocpp-rpc's schemas say, which the test and simulator charge points validate with in strict mode", () => {
    const theirs = rpcSchemas as Array<{ $id: string; $schema: string } & Record<string, unknown>>;
    const differing = theirs.filter(({ $id, $schema: _draft, ...schema }) => !isDeepStrictEqual(OCPP16_SCHEMAS[$id.replace(/^urn:/, '')], schema)).map((s) => s.$id);
    expect(differing).toEqual([]);
    expect(Object.keys(OCPP16_SCHEMAS).sort()).toEqual(theirs.map((s) => s.$id.replace(/^urn:/, '')).sort());
  });
});
