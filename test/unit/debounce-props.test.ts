import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LabelDebouncer } from '../../agent/diagnosis/debounce.js';

describe('LabelDebouncer properties', () => {
  it('a label becomes stable exactly when it holds n of the last m windows and differs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }).chain((m) => fc.tuple(fc.integer({ min: 1, max: m }), fc.constant(m))),
        fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 60 }),
        ([n, m], labels) => {
          const deb = new LabelDebouncer({ n, m });
          let stable: string | undefined;
          labels.forEach((label, i) => {
            const recent = labels.slice(Math.max(0, i - m + 1), i + 1);
            const count = recent.filter((l) => l === label).length;
            const shouldChange = label !== stable && count >= n;
            const r = deb.update(label);
            expect(r.changed).toBe(shouldChange);
            if (shouldChange) stable = label;
            expect(r.label).toBe(stable);
            expect(deb.current).toBe(stable);
          });
        },
      ),
      { numRuns: 1000 },
    );
  });
});
