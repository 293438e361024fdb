// The agent's one MQTT connection: MQTT 3.1.1 or 5, TLS / mutual TLS, a retained Will, our own
// reconnect schedule (exponential backoff + jitter, see backoff.ts), subscriptions replayed on
// every (re)connect, unique message ids and a bounded number of unresolved publishes.
//
// Why we drive reconnects ourselves: MQTT.js only knows a fixed `reconnectPeriod`, and its
// interval timer keeps that period for the whole outage. We set reconnectPeriod 0 and call
// client.reconnect() on our own timer, handing it the existing stores so QoS 1 messages
// published while offline survive the reconnect (reconnect() without stores drops them).
//
// Sessions: clean sessions (MQTT 5: sessionExpiryInterval 0). A persistent session would make the
// broker queue sensor data for us during an outage and flood us with stale windows afterwards;
// instead we resubscribe on every CONNACK without session (sessionPresent false).
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import mqtt, {
  UniqueMessageIdProvider,
  type IClientOptions,
  type IClientPublishOptions,
  type MqttClient,
} from 'mqtt';
import type { MqttConfig } from '../config/types.js';
import { createLogger, type Logger } from '../log/logger.js';
import { backoffDelayMs } from './backoff.js';

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closed';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

// Not unref'd on purpose: while the broker is down the retry timer is what keeps the process
// alive (signal handlers do not), so `vigil run` waits for the broker instead of exiting.
export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface ConnectionCounters {
  state: ConnectionState;
  /** Successful CONNACKs, the first included. */
  connects: number;
  /** Successful CONNACKs after the first. */
  reconnects: number;
  /** Connection attempts started (the first included). */
  attempts: number;
  /** Connections that ended (lost or refused) while we wanted to be connected. */
  disconnects: number;
  publishes: number;
  publishFailures: number;
  /** Publishes refused because maxPending were unresolved (back-pressure; never silent). */
  publishDropped: number;
  pending: number;
  nextRetryMs: number | null;
  lastError: string | null;
}

export interface PublishOptions {
  qos?: 0 | 1;
  retain?: boolean;
}

export interface ConnectionOptions {
  config: MqttConfig;
  clientId: string;
  /** The Will (retained, QoS 1); `payload` is re-evaluated before every attempt. */
  will?: { topic: string; payload: () => string };
  /** Unresolved publishes allowed (in flight + queued offline); default 1000, at most 65,000. */
  maxPending?: number;
  timers?: Timers;
  random?: () => number;
  /** Injected for tests; default mqtt.connect. */
  connect?: (url: string, opts: IClientOptions) => MqttClient;
  logger?: Logger;
}

export interface Subscription {
  filter: string;
  qos: 0 | 1;
}

type MessageHandler = (topic: string, payload: Buffer) => void;

export class ConnectionError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface MqttConnectionEvents {
  connect: [{ reconnect: boolean; sessionPresent: boolean }];
  disconnect: [{ error: string | null }];
}

export class MqttConnection extends EventEmitter<MqttConnectionEvents> {
  private client: MqttClient | null = null;
  private state_: ConnectionState = 'idle';
  private readonly subs = new Map<string, Subscription>();
  private readonly handlers: MessageHandler[] = [];
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly maxPending: number;
  private retryTimer: unknown = null;
  private failures = 0; // consecutive failed attempts since the last CONNACK
  private wasConnected = false;
  private counters_: Omit<ConnectionCounters, 'state' | 'pending' | 'nextRetryMs'> = {
    connects: 0,
    reconnects: 0,
    attempts: 0,
    disconnects: 0,
    publishes: 0,
    publishFailures: 0,
    publishDropped: 0,
    lastError: null,
  };
  private pending = 0;
  private nextRetryMs: number | null = null;
  private loggedOutage = false;

  constructor(private readonly opts: ConnectionOptions) {
    super();
    this.timers = opts.timers ?? realTimers;
    this.random = opts.random ?? Math.random;
    this.log = opts.logger ?? createLogger('mqtt');
    this.maxPending = Math.min(opts.maxPending ?? 1000, 65_000);
  }

  get state(): ConnectionState {
    return this.state_;
  }

  get connected(): boolean {
    return this.state_ === 'connected';
  }

  counters(): ConnectionCounters {
    return { ...this.counters_, state: this.state_, pending: this.pending, nextRetryMs: this.nextRetryMs };
  }

  /** Starts connecting; never throws for network faults (they are retried with backoff). */
  start(): void {
    if (this.state_ !== 'idle') return;
    this.client = (this.opts.connect ?? mqtt.connect)(this.opts.config.url, this.clientOptions());
    this.counters_.attempts++;
    this.state_ = 'connecting';
    this.wire(this.client);
  }

  /** Remembered and (re)subscribed on every connection. */
  subscribe(filter: string, qos: 0 | 1): void {
    this.subs.set(filter, { filter, qos });
    if (this.client && this.connected) this.sendSubscriptions([{ filter, qos }]);
  }

  subscriptions(): Subscription[] {
    return [...this.subs.values()];
  }

  onMessage(handler: MessageHandler): void {
    this.handlers.push(handler);
  }

  /**
   * Resolves when the broker acknowledged (QoS 1: PUBACK) or the packet was written (QoS 0).
   * While offline the packet is queued and sent on reconnect. Rejects with MQTT_BACKPRESSURE when
   * maxPending publishes are unresolved, and MQTT_PUBLISH when the client reports a failure.
   */
  publish(topic: string, payload: string | Buffer, o: PublishOptions = {}): Promise<void> {
    const client = this.client;
    if (!client || this.state_ === 'closed') {
      this.counters_.publishFailures++;
      return Promise.reject(
        new ConnectionError(`failed to publish to ${topic}: the connection is ${this.state_}`, 'MQTT_CLOSED'),
      );
    }
    if (this.pending >= this.maxPending) {
      this.counters_.publishDropped++;
      return Promise.reject(
        new ConnectionError(
          `failed to publish to ${topic}: ${this.pending} publishes unresolved, at most ${this.maxPending} allowed`,
          'MQTT_BACKPRESSURE',
        ),
      );
    }
    this.pending++;
    this.counters_.publishes++;
    const po: IClientPublishOptions = { qos: o.qos ?? this.opts.config.qos, retain: o.retain ?? false };
    return new Promise<void>((resolve, reject) => {
      client.publish(topic, payload, po, (err) => {
        this.pending--;
        if (err) {
          this.counters_.publishFailures++;
          reject(
            new ConnectionError(`failed to publish to ${topic}: ${err.message}`, 'MQTT_PUBLISH', {
              cause: err,
            }),
          );
        } else resolve();
      });
    });
  }

  /**
   * Ends the connection. Graceful: waits up to `timeoutMs` for unresolved publishes, then sends
   * DISCONNECT (the broker does not publish the Will: publish your own final status first).
   */
  async end(timeoutMs = 5000): Promise<void> {
    const client = this.client;
    this.clearRetry();
    if (!client || this.state_ === 'closed') {
      this.state_ = 'closed';
      return;
    }
    const wasConnected = this.connected;
    this.state_ = 'closed';
    if (wasConnected && this.pending > 0) await this.waitPending(timeoutMs);
    await new Promise<void>((resolve) => {
      const force = !wasConnected || this.pending > 0;
      const t = this.timers.setTimeout(() => {
        client.end(true, {}, () => resolve());
      }, timeoutMs);
      client.end(force, {}, () => {
        this.timers.clearTimeout(t);
        resolve();
      });
    });
    client.removeAllListeners();
    // Keep a listener: a late socket error after end() must not become an uncaught exception.
    client.on('error', () => undefined);
  }

  private waitPending(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const started = Date.now();
      const poll = () => {
        if (this.pending === 0 || Date.now() - started >= timeoutMs) resolve();
        else this.timers.setTimeout(poll, 20);
      };
      poll();
    });
  }

  private clientOptions(): IClientOptions {
    const c = this.opts.config;
    const o: IClientOptions = {
      clientId: this.opts.clientId,
      protocolVersion: c.protocolVersion,
      keepalive: c.keepaliveSec,
      clean: true,
      reconnectPeriod: 0, // we schedule reconnects (backoff + jitter)
      connectTimeout: 10_000,
      resubscribe: false, // we resubscribe ourselves, on every CONNACK without a session
      messageIdProvider: new UniqueMessageIdProvider(),
      queueQoSZero: true,
    };
    if (c.protocolVersion === 5) o.properties = { sessionExpiryInterval: 0 };
    if (c.username !== undefined) o.username = c.username;
    if (c.password !== undefined) o.password = c.password;
    if (c.tls) {
      o.rejectUnauthorized = c.tls.rejectUnauthorized;
      if (c.tls.ca) o.ca = readPem(c.tls.ca, 'mqtt.tls.ca');
      if (c.tls.cert) o.cert = readPem(c.tls.cert, 'mqtt.tls.cert');
      if (c.tls.key) o.key = readPem(c.tls.key, 'mqtt.tls.key');
    }
    if (this.opts.will) {
      o.will = {
        topic: this.opts.will.topic,
        payload: Buffer.from(this.opts.will.payload()),
        qos: 1,
        retain: true,
      };
    }
    return o;
  }

  private wire(client: MqttClient): void {
    client.on('connect', (connack) => {
      this.state_ = 'connected';
      this.failures = 0;
      this.nextRetryMs = null;
      this.loggedOutage = false;
      this.counters_.connects++;
      const reconnect = this.wasConnected;
      if (reconnect) this.counters_.reconnects++;
      this.wasConnected = true;
      const sessionPresent = Boolean(connack.sessionPresent);
      this.log.info({ url: this.opts.config.url, reconnect, sessionPresent }, 'connected');
      if (!sessionPresent && this.subs.size > 0) this.sendSubscriptions([...this.subs.values()]);
      this.emit('connect', { reconnect, sessionPresent });
    });
    client.on('message', (topic, payload) => {
      for (const h of this.handlers) h(topic, payload);
    });
    client.on('error', (err) => {
      this.counters_.lastError = err.message;
      // While the broker stays down every attempt fails the same way: warn once per outage.
      if (!this.loggedOutage)
        this.log.warn({ err: err.message, url: this.opts.config.url }, 'connection error');
      else this.log.debug({ err: err.message }, 'connection error');
      this.loggedOutage = true;
    });
    client.on('close', () => {
      if (this.state_ === 'closed') return;
      if (this.state_ === 'connected') {
        this.counters_.disconnects++;
        this.log.warn({ url: this.opts.config.url }, 'connection lost');
        this.emit('disconnect', { error: this.counters_.lastError });
      }
      this.scheduleRetry();
    });
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== null || this.state_ === 'closed') return;
    const delay = backoffDelayMs(this.failures, this.opts.config.reconnect, this.random);
    this.failures++;
    this.state_ = 'waiting';
    this.nextRetryMs = delay;
    this.log.debug({ delayMs: delay, attempt: this.failures }, 'reconnect scheduled');
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      const client = this.client;
      if (!client || this.state_ === 'closed') return;
      this.state_ = 'connecting';
      this.counters_.attempts++;
      if (this.opts.will) {
        const will = client.options.will;
        if (will) will.payload = Buffer.from(this.opts.will.payload());
      }
      // Keep the stores: QoS 1 packets queued while offline are resent after the CONNACK.
      client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.nextRetryMs = null;
  }

  private sendSubscriptions(subs: Subscription[]): void {
    const client = this.client;
    if (!client) return;
    const map: Record<string, { qos: 0 | 1 }> = {};
    for (const s of subs) map[s.filter] = { qos: s.qos };
    client.subscribe(map, (err, granted) => {
      if (err) {
        this.log.warn({ err: err.message }, 'subscribe failed');
        return;
      }
      for (const g of granted ?? []) {
        if (g.qos === 128) this.log.error({ filter: g.topic }, 'subscription refused by the broker');
      }
    });
  }
}

function readPem(file: string, field: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConnectionError(
      `failed to read ${field} file ${file}: ${(err as Error).message}`,
      'MQTT_TLS_FILE',
      { cause: err },
    );
  }
}
