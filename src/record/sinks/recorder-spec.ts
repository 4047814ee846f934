/**
 * A recorder as the config describes it (top-level `recorders[]`, selected by
 * `capture.recorders[]`): its backend settings and the bounds of its queue.
 */
import type { FileTargetOptions } from './file-target.ts';
import type { HttpTargetOptions } from './http-target.ts';
import type { TcpTargetOptions } from './tcp-target.ts';

/** Same shape as redis-target.ts's RedisTargetOptions. */
export interface RedisRecorderOptions {
  addr: string;
  db: number;
  username?: string;
  password?: string;
  key: string;
  type: 'list' | 'set' | 'sset' | 'stream';
  maxLen?: number;
  timeoutMs: number;
}

export type RecorderBackend =
  | ({ kind: 'file' } & FileTargetOptions)
  | ({ kind: 'http' } & HttpTargetOptions)
  | ({ kind: 'tcp' } & TcpTargetOptions)
  | ({ kind: 'redis' } & RedisRecorderOptions);

export interface RecorderSpec {
  name: string;
  /** GOST record kind; capture produces `recorder.service.handler` records only. */
  record: string;
  backend: RecorderBackend;
  queue: { records: number; bytes: number };
}
