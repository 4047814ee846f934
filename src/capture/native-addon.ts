/**
 * Loads tapgate's native addon (native-bindings/, built by `npm run build:native`). Optional: when it
 * is not built or cannot load, callers fall back to portable code paths, so a missing compiler never
 * breaks file capture.
 */
import { createRequire } from 'node:module';

export interface NativeAddon {
  /** Read-only mapping of a non-empty regular file, or null for anything else. Throws on errors. */
  mapFile(path: string): Buffer | null;
  /** Drops the mapped pages below `upTo` from the process (they stay readable). */
  releaseMapped(mapping: Buffer, upTo: number): void;
}

const ADDON_PATH = '../../native-bindings/build/Release/tapgate_native.node';
let cached: NativeAddon | null | undefined;

/** The addon, or null when it is not available (and why, in `nativeAddonError`). */
export function nativeAddon(): NativeAddon | null {
  if (cached === undefined) {
    try {
      cached = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
    } catch (e) {
      nativeAddonError = e instanceof Error ? e.message : String(e);
      cached = null;
    }
  }
  return cached;
}

export let nativeAddonError: string | null = null;
