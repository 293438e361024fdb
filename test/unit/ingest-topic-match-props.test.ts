// Property tests for topic matching: captures rebuild the topic, and match/no-match agrees with
// qlobber (the matcher the aedes broker uses, installed with it) configured for MQTT.
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileTopicFilter } from '../../agent/ingest/topic-match.js';

const require = createRequire(import.meta.url);
const { QlobberTrue } = require('qlobber') as {
  QlobberTrue: new (o: object) => { add(p: string): void; test(t: string): boolean };
};

const level = fc.constantFrom('a', 'b', 'c1', '');
const filterLevel = fc.oneof(level, fc.constant('+'));
const filterArb = fc
  .tuple(fc.array(filterLevel, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((f) => f.length > 0);
const topicArb = fc
  .array(level, { minLength: 1, maxLength: 6 })
  .map((l) => l.join('/'))
  .filter((t) => t.length > 0);

function rebuild(filter: string, captures: string[], topic: string): string {
  const levels = filter.split('/');
  const out: string[] = [];
  let c = 0;
  for (const l of levels) {
    if (l === '+') out.push(captures[c++]);
    else if (l === '#') {
      const rest = topic.split('/').slice(out.length);
      out.push(...rest);
    } else out.push(l);
  }
  return out.join('/');
}

describe('topic matching properties', () => {
  it('captures rebuild the topic', () => {
    fc.assert(
      fc.property(filterArb, topicArb, (filter, topic) => {
        const caps = compileTopicFilter(filter).match(topic);
        if (caps === undefined) return;
        expect(caps.length).toBe(compileTopicFilter(filter).captureCount);
        expect(rebuild(filter, caps, topic)).toBe(topic);
      }),
      { numRuns: 3000 },
    );
  });

  it('a topic built from a filter matches it with exactly the substituted captures', () => {
    fc.assert(
      fc.property(
        filterArb,
        fc.array(fc.constantFrom('x', 'y', 'z9'), { minLength: 8, maxLength: 8 }),
        (filter, subs) => {
          const levels = filter.split('/');
          let i = 0;
          const captures: string[] = [];
          const topic = levels
            .map((l) => {
              if (l === '+') {
                captures.push(subs[i]);
                return subs[i++];
              }
              return l === '#' ? 'tail/more' : l;
            })
            .join('/');
          expect(compileTopicFilter(filter).match(topic)).toEqual(captures);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('agrees with qlobber (MQTT options) on match / no match', () => {
    fc.assert(
      fc.property(filterArb, topicArb, (filter, topic) => {
        const q = new QlobberTrue({
          separator: '/',
          wildcard_one: '+',
          wildcard_some: '#',
          match_empty_levels: true,
        });
        q.add(filter);
        expect(compileTopicFilter(filter).match(topic) !== undefined).toBe(q.test(topic));
      }),
      { numRuns: 3000 },
    );
  });
});
