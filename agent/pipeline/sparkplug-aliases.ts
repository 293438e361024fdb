// Sparkplug B metric aliases: DDATA/NDATA may carry aliases instead of names; the names come from
// the node's NBIRTH / the device's DBIRTH. Kept per (group, node, device), replaced by each BIRTH.
import { parseSparkplugTopic, sparkplugBirthAliases } from '../ingest/codecs/index.js';

export class SparkplugAliases {
  private readonly byEdge = new Map<string, Map<string, string>>(); // group/node/device -> alias -> name

  /** NBIRTH or DBIRTH topic. */
  static isBirth(topic: string): boolean {
    const t = parseSparkplugTopic(topic);
    return t !== undefined && (t.messageType === 'NBIRTH' || t.messageType === 'DBIRTH');
  }

  /** The BIRTH filter that goes with a DDATA/NDATA filter (null when the filter names no type). */
  static birthFilter(dataFilter: string): string | null {
    const births = dataFilter.replace('/DDATA/', '/DBIRTH/').replace('/NDATA/', '/NBIRTH/');
    return births === dataFilter ? null : births;
  }

  /** Learns a BIRTH's aliases; throws PayloadError for a payload that does not decode. */
  learn(topic: string, payload: Uint8Array): void {
    this.byEdge.set(key(topic), sparkplugBirthAliases(payload));
  }

  /** Aliases for a DATA topic of the same node/device, if its BIRTH was seen. */
  forTopic(topic: string): ReadonlyMap<string, string> | undefined {
    return this.byEdge.get(key(topic));
  }
}

function key(topic: string): string {
  const p = topic.split('/'); // spBv1.0/<group>/<type>/<node>[/<device>]
  return [p[1], p[3], p[4] ?? ''].join('/');
}
