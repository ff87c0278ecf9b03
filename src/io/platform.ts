/**
 * What the host offers, asked without importing anything Node-only at the top level: this
 * library also runs in browsers and Cloudflare workers, where `node:*` modules do not exist.
 */

interface HostGlobals {
  process?: { env?: Record<string, string | undefined>; versions?: { node?: string } };
  Deno?: { env: { get(name: string): string | undefined } };
  navigator?: { userAgent?: string };
}

const host = globalThis as HostGlobals;

/** An environment variable, or undefined where there are none (browsers) or reading is denied (Deno). */
export function readEnv(name: string): string | undefined {
  const fromProcess = host.process?.env?.[name];
  if (fromProcess !== undefined) return fromProcess;
  try {
    return host.Deno?.env.get(name);
  } catch {
    return undefined; // Deno without --allow-env
  }
}

/** Node, Deno and Bun have a file system worth reading from and caching to; browsers and workers do not. */
export function hasLocalFileSystem(): boolean {
  // workerd's nodejs_compat imitates `process` but its file system is per-request and ephemeral.
  if (host.navigator?.userAgent === 'Cloudflare-Workers') return false;
  return host.Deno !== undefined || typeof host.process?.versions?.node === 'string';
}

/** Errors from node:fs carry a `code` such as 'ENOENT'. */
export function fsErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
