// Checks HTTP answers against docs/openapi.yaml, the one contract of the
// Chorus API that the Go handlers, the e2e mock server and the Vitest fake
// all follow. Node-only (reads the file); used by contract.test.js.
import { readFileSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

export const SPEC_PATH = resolvePath(dirname(fileURLToPath(import.meta.url)), '../../../docs/openapi.yaml');

const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options', 'trace'];

/** loadContract reads the spec and returns check(answer) → a list of problems ([] when it conforms). */
export function loadContract(path = SPEC_PATH) {
  const spec = parse(readFileSync(path, 'utf8'));
  // strictRequired off: JobStatus's oneOf branches require properties declared beside them.
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  // The document itself is the root schema, so its '#/components/…' $refs
  // resolve; its OpenAPI keys are annotations to Ajv.
  ajv.addVocabulary(['openapi', 'info', 'servers', 'tags', 'paths', 'components']);
  ajv.addSchema(spec, 'openapi');
  const base = new URL(spec.servers[0].url, 'http://x').pathname.replace(/\/$/, '');
  const routes = Object.keys(spec.paths)
    .map((p) => ({ template: p, re: new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`), params: /\{/.test(p) }))
    .sort((a, b) => a.params - b.params); // a literal path wins over a template

  const at = (keys) => keys.reduce((o, k) => o?.[k], spec);
  const refKeys = (ref) => ref.slice(2).split('/').map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
  /** follow returns the keys of the object at keys, its $refs followed. */
  const follow = (keys) => {
    while (at(keys)?.$ref) keys = refKeys(at(keys).$ref);
    return keys;
  };
  const resolve = (obj) => (obj?.$ref ? at(follow(refKeys(obj.$ref))) : obj);
  /** validate checks value against the schema at keys (a JSON pointer into the spec). */
  const validate = (keys, value) => {
    const ptr = keys.map((k) => encodeURIComponent(String(k).replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
    const v = ajv.getSchema(`openapi#/${ptr}`);
    return v(value) ? [] : [ajv.errorsText(v.errors, { dataVar: 'body' })];
  };

  /**
   * check validates one answer: {method, url, status, headers, body}.
   * headers is a Headers or a plain object; body is the response text.
   */
  return function check({ method, url, status, headers, body = '' }) {
    const h = headers instanceof Headers ? headers : new Headers(headers || {});
    const m = method.toLowerCase();
    const path = new URL(url, 'http://x').pathname;
    const where = `${method} ${path} → ${status}`;
    const problems = [];
    let keys;
    const route = path.startsWith(`${base}/`) ? routes.find((r) => r.re.test(path.slice(base.length))) : undefined;
    if (!route) {
      if (!path.startsWith(`${base}/`)) return [`${where}: not an API path`];
      if (status !== 404) return [`${where}: a path the contract does not list must answer 404`];
      keys = ['components', 'responses', 'NotFound'];
    } else if (!spec.paths[route.template][m]) {
      if (status !== 405) return [`${where}: ${method} is not listed for ${route.template}, so it must answer 405`];
      keys = ['components', 'responses', 'MethodNotAllowed'];
    } else {
      if (!spec.paths[route.template][m].responses[status]) return [`${where}: status not documented for ${method} ${route.template}`];
      keys = ['paths', route.template, m, 'responses', String(status)];
    }
    keys = follow(keys);
    const response = at(keys);

    for (const [name, ref] of Object.entries(response.headers || {})) {
      const def = resolve(ref);
      const value = h.get(name);
      if (value === null) {
        if (def.required) problems.push(`${where}: header ${name} missing`);
        continue;
      }
      const schema = resolve(def.schema) || {};
      let v = value;
      if (schema.type === 'integer' || schema.type === 'number') {
        v = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
      }
      const hv = ajv.compile(schema);
      if (!hv(v)) problems.push(`${where}: header ${name}: ${value}: ${ajv.errorsText(hv.errors, { dataVar: name })}`);
    }
    const allow = h.get('Allow');
    if (allow !== null) {
      const want = route ? METHODS.filter((x) => spec.paths[route.template][x]).map((x) => x.toUpperCase()).sort() : [];
      const got = allow.split(',').map((x) => x.trim()).sort();
      if (got.join() !== want.join()) problems.push(`${where}: Allow "${allow}", the contract lists ${want.join(', ')}`);
    }

    if (m === 'head') return problems;
    const content = response.content || {};
    if (Object.keys(content).length === 0) {
      if (body) problems.push(`${where}: the contract has no body for this answer, got ${JSON.stringify(body).slice(0, 200)}`);
      return problems;
    }
    const type = (h.get('Content-Type') || '').split(';')[0].trim().toLowerCase();
    if (!content[type]) return [...problems, `${where}: Content-Type "${h.get('Content-Type')}" not in the contract`];
    let data;
    try {
      data = JSON.parse(body);
    } catch {
      return [...problems, `${where}: body is not JSON: ${String(body).slice(0, 200)}`];
    }
    for (const p of validate([...keys, 'content', type, 'schema'], data)) problems.push(`${where}: ${p}: ${body.slice(0, 300)}`);
    return problems;
  };
}
