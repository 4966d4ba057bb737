// Child-process entry of the SOCKS test server: started by
// spawnSocksServer, controlled over the IPC channel.

import { SocksTestServer } from './socks-server.ts';
import type { SocksServerControl, SocksServerOptions } from './socks-server.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as SocksServerOptions;
const server = await new SocksTestServer(options).listen();
process.send?.({ port: server.port });

process.on('message', (message) => {
  const { id, method, argument } = message as { id: number; method: keyof SocksServerControl; argument?: SocksServerOptions };
  const action = server[method];
  if (typeof action !== 'function') {
    process.send?.({ id, error: `unknown method ${String(method)}` });
    return;
  }
  Promise.resolve((action as (argument?: SocksServerOptions) => Promise<unknown>).call(server, argument)).then(
    (result) => {
      process.send?.({ id, result });
      if (method === 'close') process.disconnect();
    },
    (error: Error) => process.send?.({ id, error: error.message }),
  );
});

// The parent going away closes the IPC channel; end with it.
process.on('disconnect', () => {
  void server.close().finally(() => process.exit(0));
});
