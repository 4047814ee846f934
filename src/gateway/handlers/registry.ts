/**
 * Handlers by the name the YAML uses (`handler.type`), as go-gost/x registers its kinds: adding a
 * handler never touches the service code.
 */
import type { ConnectionHandler } from '../connection.ts';
import type { HandlerType } from '../gateway-config.ts';
import { handleHttpProxy } from './http-proxy.ts';
import { handleRed } from './red.ts';
import { handleSni } from './sni.ts';
import { handleSocks5 } from './socks5.ts';
import { handleTcpForward } from './tcp-forward.ts';

export const handlers: Readonly<Record<HandlerType, ConnectionHandler>> = {
  http: handleHttpProxy,
  socks5: handleSocks5,
  tcp: handleTcpForward,
  red: handleRed,
  sni: handleSni,
};
