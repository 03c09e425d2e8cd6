import type { OpenApiDocument } from './openapi.ts';

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

type Json = Record<string, unknown>;

/** Resolves one `#/components/…` reference of the document. */
function resolve(doc: OpenApiDocument, node: unknown): Json {
  const r = (node as Json | undefined)?.$ref;
  if (typeof r !== 'string') return (node ?? {}) as Json;
  let cur: unknown = doc;
  for (const part of r.replace(/^#\//, '').split('/')) cur = (cur as Json)[part];
  return (cur ?? {}) as Json;
}

const schemaName = (node: unknown) => {
  const r = (node as Json | undefined)?.$ref;
  return typeof r === 'string' ? r.split('/').pop()! : null;
};

const block = (value: unknown) => `<pre>${escape(JSON.stringify(value, null, 2))}</pre>`;

/**
 * A readable page of the OpenAPI document, rendered on the server with no scripts or CDN (the API
 * may run offline): every operation with its parameters, body schema and answers.
 */
export function renderDocsPage(doc: OpenApiDocument): string {
  const sections: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(ops)) {
      const op = raw as Json;
      const parts = [
        `<h2 id="${escape(String(op.operationId))}"><span class="m ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code></h2>`,
        `<p><strong>${escape(String(op.summary))}</strong>${(op.security as unknown[]).length ? ' <span class="lock">requires a bearer token</span>' : ''}</p>`,
      ];
      if (op.description) parts.push(`<p>${escape(String(op.description))}</p>`);
      const params = (op.parameters as Json[] | undefined) ?? [];
      if (params.length) {
        parts.push('<h3>Parameters</h3><ul>');
        for (const p of params) parts.push(`<li><code>${escape(String(p.name))}</code> (${escape(String(p.in))}${p.required ? ', required' : ''}) ${escape(JSON.stringify(p.schema))}</li>`);
        parts.push('</ul>');
      }
      const body = ((op.requestBody as Json | undefined)?.content as Json | undefined)?.['application/json'] as Json | undefined;
      if (body) {
        parts.push(`<h3>Body: ${escape(schemaName(body.schema) ?? 'JSON')}</h3>`, block(resolve(doc, body.schema)));
      }
      parts.push('<h3>Answers</h3><ul>');
      for (const [status, r] of Object.entries(op.responses as Json)) {
        const res = resolve(doc, r);
        const content = (res.content ?? {}) as Json;
        const kinds = Object.entries(content)
          .map(([type, c]) => `${escape(type)}${schemaName((c as Json).schema) ? ` — ${escape(schemaName((c as Json).schema)!)}` : ''}`)
          .join(', ');
        parts.push(`<li><code>${escape(status)}</code> ${escape(String(res.description ?? ''))}${kinds ? ` <small>(${kinds})</small>` : ''}</li>`);
      }
      parts.push('</ul>');
      sections.push(`<section>${parts.join('\n')}</section>`);
    }
  }
  const schemas = Object.entries(doc.components.schemas)
    .map(([name, s]) => `<section><h3 id="schema-${escape(name)}">${escape(name)}</h3>${block(s)}</section>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(doc.info.title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#222}
pre{background:#f5f5f5;padding:.75rem;overflow:auto;font-size:.85rem}
.m{display:inline-block;min-width:4rem;text-align:center;color:#fff;border-radius:3px;font-size:.9rem;padding:.1rem .3rem}
.get{background:#2b7bb9}.post{background:#3a9d5d}.delete{background:#c0392b}
.lock{color:#8a5a00;font-size:.85rem} section{border-top:1px solid #ddd;padding-top:.5rem}
</style></head><body>
<h1>${escape(doc.info.title)} <small>v${escape(doc.info.version)}</small></h1>
<p>${escape(doc.info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escape(doc.openapi)}).</p>
${sections.join('\n')}
<h2>Schemas</h2>
${schemas}
</body></html>`;
}
