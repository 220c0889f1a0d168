// Loads and renders the files under templates/. Placeholders are `{{ name }}`.
// YAML is parsed first and placeholders are replaced inside string values, so a value can never
// change the document's structure; a value that is a placeholder alone keeps its type (numbers stay numbers).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** templates/ beside src/ (from source) or dist/ (when built): both sit one level below the package root. */
export const TEMPLATES_DIR = fileURLToPath(new URL('../templates/', import.meta.url));
export const PACKAGE_DIR = fileURLToPath(new URL('../', import.meta.url));

export type TemplateValues = Record<string, string | number | boolean | string[]>;

const PLACEHOLDER = /\{\{ ([A-Za-z][A-Za-z0-9]*) \}\}/g;
const ONLY_PLACEHOLDER = /^\{\{ ([A-Za-z][A-Za-z0-9]*) \}\}$/;

function valueOf(name: string, values: TemplateValues, file: string): string | number | boolean | string[] {
  if (!(name in values)) throw new Error(`Template ${file} uses {{ ${name} }}, which has no value.`);
  return values[name]!;
}

/** Replaces placeholders in text; arrays are written as JSON (Rego reads JSON literals). */
export function renderText(text: string, values: TemplateValues, file = 'text'): string {
  return text.replace(PLACEHOLDER, (_, name: string) => {
    const value = valueOf(name, values, file);
    return Array.isArray(value) ? JSON.stringify(value) : String(value);
  });
}

function renderValue(node: unknown, values: TemplateValues, file: string): unknown {
  if (typeof node === 'string') {
    const whole = ONLY_PLACEHOLDER.exec(node);
    if (whole) return valueOf(whole[1]!, values, file);
    return renderText(node, values, file);
  }
  if (Array.isArray(node)) return node.map((item) => renderValue(item, values, file));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, renderValue(v, values, file)]));
  }
  return node;
}

export async function readTemplate(relativePath: string): Promise<string> {
  return readFile(new URL(relativePath, `file://${TEMPLATES_DIR}`), 'utf8');
}

/** Parses a (multi-document) YAML template and renders every string in it. */
export function renderYaml<T = Record<string, unknown>>(text: string, values: TemplateValues, file = 'template'): T[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length) throw new Error(`Template ${file}: ${doc.errors[0]!.message}`);
      return doc.toJS() as unknown;
    })
    .filter((doc) => doc !== null && doc !== undefined)
    .map((doc) => renderValue(doc, values, file) as T);
}

export async function renderYamlTemplate<T = Record<string, unknown>>(relativePath: string, values: TemplateValues): Promise<T[]> {
  return renderYaml<T>(await readTemplate(relativePath), values, relativePath);
}
