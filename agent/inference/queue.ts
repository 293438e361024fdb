// A bounded inference queue, one per model. Windows from every asset of the model line up here;
// one consumer drains it, up to `batchMax` windows per call (1 unless the backend batches).
// Overflow is explicit: `drop-oldest` evicts the stalest window (keeps diagnoses current when the
// CPU cannot keep up), `drop-newest` refuses the incoming one (keeps a contiguous history).
// Every drop is counted and handed to onDrop; nothing is lost silently.

export type DropPolicy = 'drop-oldest' | 'drop-newest';

export interface QueueCounters {
  capacity: number;
  depth: number;
  /** Highest depth seen. */
  maxDepth: number;
  enqueued: number;
  dropped: number;
  processed: number;
  /** Batches whose processing threw (their items count as processed). */
  failedBatches: number;
}

export interface InferenceQueueOptions<T> {
  capacity: number;
  policy: DropPolicy;
  /** Most items handed to one process() call. */
  batchMax?: number;
  process(items: T[]): Promise<void>;
  onDrop?(item: T, reason: 'overflow' | 'closed'): void;
  onError?(err: unknown, items: T[]): void;
}

export class QueueError extends Error {
  readonly code = 'QUEUE_INVALID';
}

export class InferenceQueue<T> {
  private items: T[] = [];
  private busy = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly c: QueueCounters;
  /** Most items per process() call (>= 1). */
  readonly batchMax: number;

  constructor(private readonly o: InferenceQueueOptions<T>) {
    if (!Number.isInteger(o.capacity) || o.capacity < 1)
      throw new QueueError(`Expected an integer >= 1 for capacity but received ${o.capacity}`);
    this.batchMax = Math.max(1, Math.floor(o.batchMax ?? 1));
    this.c = {
      capacity: o.capacity,
      depth: 0,
      maxDepth: 0,
      enqueued: 0,
      dropped: 0,
      processed: 0,
      failedBatches: 0,
    };
  }

  /** False when `item` itself was dropped (queue closed, or full under drop-newest). */
  push(item: T): boolean {
    if (this.closed) {
      this.c.dropped++;
      this.o.onDrop?.(item, 'closed');
      return false;
    }
    if (this.items.length >= this.o.capacity) {
      this.c.dropped++;
      if (this.o.policy === 'drop-newest') {
        this.o.onDrop?.(item, 'overflow');
        return false;
      }
      const evicted = this.items.shift() as T;
      this.o.onDrop?.(evicted, 'overflow');
    }
    this.items.push(item);
    this.c.enqueued++;
    this.c.maxDepth = Math.max(this.c.maxDepth, this.items.length);
    if (!this.busy) void this.pump();
    return true;
  }

  counters(): QueueCounters {
    return { ...this.c, depth: this.items.length };
  }

  get depth(): number {
    return this.items.length;
  }

  /** Resolves once the queue is empty and no batch is running. */
  drain(): Promise<void> {
    if (!this.busy && this.items.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new items from now on; queued ones still run (await drain()). */
  close(): void {
    this.closed = true;
  }

  private async pump(): Promise<void> {
    this.busy = true;
    while (this.items.length > 0) {
      const batch = this.items.splice(0, this.batchMax);
      try {
        await this.o.process(batch);
      } catch (err) {
        this.c.failedBatches++;
        this.o.onError?.(err, batch);
      }
      this.c.processed += batch.length;
    }
    this.busy = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
