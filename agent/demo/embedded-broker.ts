// An in-process MQTT broker (aedes) on loopback, for the quick start and demos: vigil shows
// diagnoses flowing with no broker to install. Production deployments use a real broker.
import net from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Start a broker on 127.0.0.1:port (0 = a free port). Rejects with BROKER_LISTEN if taken. */
export async function startEmbeddedBroker(port: number, host = '127.0.0.1'): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const e = new Error(
        `failed to start the embedded broker on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use (choose another with --port)' : err.message}`,
        { cause: err },
      );
      (e as Error & { code: string }).code = 'BROKER_LISTEN';
      broker.close(() => reject(e));
    });
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as net.AddressInfo).port;
  return {
    url: `mqtt://${host}:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        // close the broker first: it ends client connections, so server.close() can finish
        broker.close(() => server.close(() => resolve()));
      }),
  };
}
