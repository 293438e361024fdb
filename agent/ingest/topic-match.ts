// MQTT topic filters with captures, and asset id templates.
//
//   const f = compileTopicFilter('plant/+/pump/+/vibration');
//   f.match('plant/north/pump/7/vibration')        // ['north', '7']   (undefined: no match)
//   const id = compileAssetTemplate('pump-{2}', f); // checks {n} <= number of '+' in the filter
//   id.expand(['north', '7'])                      // 'pump-7'
//
// {n} is the n-th '+' segment of the filter, 1-based (agent/config/types.ts InputConfig.topic).
// '#' matches the remaining levels (zero or more) and is never captured. As MQTT requires,
// a filter starting with a wildcard does not match topics starting with '$' ($SYS/...).
// Captured segments become part of asset ids, which appear in published topics
// (`.../diagnosis/<assetId>`) and file names, so a capture is refused (INGEST_UNSAFE_ASSET_ID)
// when it is empty, contains '/', '+', '#', a control character, or the id would be '.', '..',
// start with '$' or exceed 128 characters.

export const MAX_ASSET_ID_LENGTH = 128;

export interface CompiledFilter {
  readonly filter: string;
  /** Number of '+' segments (captures). */
  readonly captureCount: number;
  /** Captured '+' segments in order, or undefined when the topic does not match. */
  match(topic: string): string[] | undefined;
}

export interface CompiledAssetTemplate {
  readonly template: string;
  /** The asset id for these captures; throws INGEST_UNSAFE_ASSET_ID for an unsafe id. */
  expand(captures: readonly string[]): string;
}

export function ingestError(code: string, message: string): Error & { code: string } {
  const err = new Error(message) as Error & { code: string };
  err.code = code;
  return err;
}

export function compileTopicFilter(filter: string): CompiledFilter {
  if (filter.length === 0)
    throw ingestError('INGEST_TOPIC_FILTER_INVALID', 'Expected a topic filter but received ""');
  const levels = filter.split('/');
  let captureCount = 0;
  levels.forEach((level, i) => {
    if (level === '+') captureCount++;
    else if (level === '#') {
      if (i !== levels.length - 1) {
        throw ingestError(
          'INGEST_TOPIC_FILTER_INVALID',
          `Expected '#' only as the last level of topic filter but received ${JSON.stringify(filter)}`,
        );
      }
    } else if (level.includes('+') || level.includes('#')) {
      throw ingestError(
        'INGEST_TOPIC_FILTER_INVALID',
        `Expected wildcards '+'/'#' to fill a whole level of topic filter but received ${JSON.stringify(filter)}`,
      );
    }
  });
  const startsWild = levels[0] === '+' || levels[0] === '#';
  return {
    filter,
    captureCount,
    match(topic: string): string[] | undefined {
      if (topic.length === 0 || topic.includes('+') || topic.includes('#')) return undefined;
      if (startsWild && topic.startsWith('$')) return undefined;
      const parts = topic.split('/');
      const captures: string[] = [];
      for (let i = 0; i < levels.length; i++) {
        const level = levels[i];
        if (level === '#') return captures; // matches the parent level too: "a/#" matches "a"
        if (i >= parts.length) return undefined;
        if (level === '+') captures.push(parts[i]);
        else if (level !== parts[i]) return undefined;
      }
      return parts.length === levels.length ? captures : undefined;
    },
  };
}

/** Why a would-be asset id is unsafe, or undefined when it is safe. */
export function unsafeAssetIdReason(id: string): string | undefined {
  if (id.length === 0) return 'it is empty';
  if (id.length > MAX_ASSET_ID_LENGTH) return `it is longer than ${MAX_ASSET_ID_LENGTH} characters`;
  if (id === '.' || id === '..') return 'it is a path component';
  if (id.startsWith('$')) return "it starts with '$'";
  if (/[/+#]/.test(id)) return "it contains '/', '+' or '#'";
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(id)) return 'it contains a control character';
  return undefined;
}

export function compileAssetTemplate(template: string, filter: CompiledFilter): CompiledAssetTemplate {
  const refs = [...template.matchAll(/\{(\d+)\}/g)].map((m) => Number(m[1]));
  for (const n of refs) {
    if (n < 1 || n > filter.captureCount) {
      throw ingestError(
        'INGEST_TOPIC_FILTER_INVALID',
        `Expected {n} with 1 <= n <= ${filter.captureCount} ('+' levels of ${filter.filter}) in asset id ${template} but received {${n}}`,
      );
    }
  }
  const literal = template.replace(/\{\d+\}/g, 'x');
  const literalProblem = refs.length === 0 ? unsafeAssetIdReason(template) : unsafeAssetIdReason(literal);
  if (literalProblem !== undefined) {
    throw ingestError(
      'INGEST_TOPIC_FILTER_INVALID',
      `Expected a safe asset id template but ${template}: ${literalProblem}`,
    );
  }
  return {
    template,
    expand(captures: readonly string[]): string {
      for (const n of refs) {
        const cap = captures[n - 1];
        const problem = cap === undefined ? 'it is missing' : unsafeAssetIdReason(cap);
        if (problem !== undefined || cap.startsWith('$')) {
          throw ingestError(
            'INGEST_UNSAFE_ASSET_ID',
            `Expected a safe topic level for {${n}} of asset id ${template} but received ${JSON.stringify(cap ?? null)}: ${problem ?? "it starts with '$'"}`,
          );
        }
      }
      const id = template.replace(/\{(\d+)\}/g, (_m, d: string) => captures[Number(d) - 1]);
      const problem = unsafeAssetIdReason(id);
      if (problem !== undefined) {
        throw ingestError(
          'INGEST_UNSAFE_ASSET_ID',
          `Expected a safe asset id from ${template} but received ${JSON.stringify(id)}: ${problem}`,
        );
      }
      return id;
    },
  };
}

export interface TopicRoute<T> {
  value: T;
  assetId: string;
}

/**
 * Routes a topic to every registered (filter, template) that matches it. Small linear scan: an
 * agent has a handful of inputs. Unsafe captures throw INGEST_UNSAFE_ASSET_ID from route().
 */
export class TopicRouter<T> {
  private readonly entries: { filter: CompiledFilter; template: CompiledAssetTemplate; value: T }[] = [];

  add(filter: string, assetTemplate: string, value: T): void {
    const compiled = compileTopicFilter(filter);
    this.entries.push({ filter: compiled, template: compileAssetTemplate(assetTemplate, compiled), value });
  }

  route(topic: string): TopicRoute<T>[] {
    const out: TopicRoute<T>[] = [];
    for (const e of this.entries) {
      const captures = e.filter.match(topic);
      if (captures !== undefined) out.push({ value: e.value, assetId: e.template.expand(captures) });
    }
    return out;
  }
}
