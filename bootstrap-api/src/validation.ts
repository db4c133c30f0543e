/** Strict decoding of request and response bodies with the contract's schemas. */
import { Compile } from 'typebox/compile';
import type { Static, TSchema } from 'typebox';
import { ApiError } from './errors.ts';

const cache = new WeakMap<TSchema, ReturnType<typeof Compile>>();

function validatorFor(schema: TSchema): ReturnType<typeof Compile> {
  let v = cache.get(schema);
  if (!v) {
    v = Compile(schema);
    cache.set(schema, v);
  }
  return v;
}

/** "body/record must match pattern ..." style text naming the first offending field. */
export function describeErrors(schema: TSchema, value: unknown, what: string): string | undefined {
  const v = validatorFor(schema);
  if (v.Check(value)) return undefined;
  const first = v.Errors(value)[0];
  if (!first) return `${what} is invalid`;
  const where = first.instancePath === '' ? what : `${what}${first.instancePath}`;
  // TypeBox reports a property refused by `additionalProperties: false` as "schema is false".
  if (first.schemaPath.endsWith('/additionalProperties')) return `${where} is not an allowed property`;
  return `${where} ${first.message}`;
}

/** Returns the value typed by its schema, or throws BAD_REQUEST naming the problem. */
export function parseWith<S extends TSchema>(schema: S, value: unknown, what = 'body'): Static<S> {
  const problem = describeErrors(schema, value, what);
  if (problem !== undefined) throw new ApiError('BAD_REQUEST', problem);
  return value as Static<S>;
}
