/**
 * Images for Gemini, which takes them only as inline bytes (`inlineData`): a data URL is
 * decoded, an https URL is fetched by Parley — bounded in size and time, never from a private
 * or local address, redirects followed only to https — and either way the bytes are sniffed, so
 * the MIME type sent is what the image really is, and something that is not an image is refused
 * with a 400 naming the part.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, type Dispatcher, request } from 'undici';
import { errors } from '../../protocol/errors.js';

export interface ImageFetchOptions {
  /** Largest image accepted, fetched or inline. */
  maxBytes: number;
  /** Longest one fetch may take, connection to last byte. */
  timeoutMs: number;
  /**
   * Also fetch http:// URLs. Only for tests (a local server): constructor-only, never a setting,
   * so production fetches https alone.
   */
  allowHttp?: boolean;
  /** Also fetch from loopback and private addresses. Tests only, like allowHttp. */
  allowPrivateAddresses?: boolean;
}

/**
 * Addresses an image URL may not lead to: a client must not use Parley to reach its own
 * machine or private network (loopback, RFC 1918, link-local, CGNAT, unique-local).
 */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv6');

function isPrivate(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return PRIVATE.check(mapped, 'ipv4');
  const family = isIP(address);
  return family === 4 ? PRIVATE.check(address, 'ipv4') : family === 6 ? PRIVATE.check(address, 'ipv6') : false;
}

const PRIVATE_CODE = 'PARLEY_PRIVATE_ADDRESS';

/** dns.lookup, refusing names that resolve to a private address (checked where the socket connects). */
function publicLookup(
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const list = addresses as LookupAddress[];
    if (list.some((a) => isPrivate(a.address))) {
      return callback(
        Object.assign(new Error(`${hostname} resolves to a private address`), { code: PRIVATE_CODE }),
        [],
      );
    }
    if (options.all) return callback(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
}

export const DEFAULT_IMAGE_FETCH: ImageFetchOptions = { maxBytes: 20 * 1024 * 1024, timeoutMs: 15_000 };

const MAX_REDIRECTS = 3;

/** The formats Gemini reads, told apart by their first bytes. */
export function sniffImage(b: Uint8Array): string | null {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return 'image/gif';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'image/webp';
  return null;
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}

export class ImageFetcher {
  private readonly agent: Agent;

  constructor(private readonly opts: ImageFetchOptions = DEFAULT_IMAGE_FETCH) {
    this.agent = new Agent({
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connect: { timeout: opts.timeoutMs, ...(opts.allowPrivateAddresses ? {} : { lookup: publicLookup }) },
      maxResponseSize: opts.maxBytes,
    });
  }

  /** The image at `url` (a data URL or an https URL) as Gemini's inlineData; `param` names it in a 400. */
  async inlineData(url: string, param: string, signal: AbortSignal): Promise<{ mimeType: string; data: string }> {
    const bytes = url.startsWith('data:') ? this.decodeDataUrl(url, param) : await this.fetch(url, param, signal);
    const mimeType = sniffImage(bytes);
    if (!mimeType) {
      throw errors.imageUnusable(param, 'the content is not a PNG, JPEG, GIF or WebP image');
    }
    return { mimeType, data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
  }

  private decodeDataUrl(url: string, param: string): Uint8Array {
    const comma = url.indexOf(',');
    if (comma < 0) throw errors.imageUnusable(param, 'a data URL needs a comma before its data');
    const meta = url.slice(5, comma);
    const payload = url.slice(comma + 1);
    let bytes: Buffer;
    try {
      bytes = /;base64$/i.test(meta)
        ? Buffer.from(payload, 'base64')
        : Buffer.from(decodeURIComponent(payload), 'latin1');
    } catch {
      throw errors.imageUnusable(param, 'the data URL is not validly percent-encoded');
    }
    if (bytes.length === 0) throw errors.imageUnusable(param, 'the data URL holds no data');
    if (bytes.length > this.opts.maxBytes) throw this.tooLarge(param);
    return bytes;
  }

  private async fetch(url: string, param: string, signal: AbortSignal): Promise<Uint8Array> {
    let current = url;
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.opts.timeoutMs)]);
    for (let hop = 0; ; hop++) {
      this.checkScheme(current, param, hop > 0);
      let res: Dispatcher.ResponseData;
      try {
        res = await request(current, {
          method: 'GET',
          dispatcher: this.agent,
          signal: deadline,
          headers: { accept: 'image/*', 'user-agent': 'Parley (image fetch)' },
        });
      } catch (err) {
        if (signal.aborted) throw err;
        throw errors.imageUnusable(param, `Parley could not fetch the image (${describe(err)})`);
      }
      if (res.statusCode >= 300 && res.statusCode < 400 && typeof res.headers.location === 'string') {
        void res.body.dump();
        if (hop >= MAX_REDIRECTS) throw errors.imageUnusable(param, 'the image URL redirects too many times');
        try {
          current = new URL(res.headers.location, current).href;
        } catch {
          throw errors.imageUnusable(param, 'the image URL redirects to something that is not a URL');
        }
        continue;
      }
      if (res.statusCode !== 200) {
        void res.body.dump();
        throw errors.imageUnusable(param, `fetching the image answered HTTP ${res.statusCode}`);
      }
      const length = Number(res.headers['content-length']);
      if (Number.isFinite(length) && length > this.opts.maxBytes) {
        void res.body.dump();
        throw this.tooLarge(param);
      }
      try {
        return new Uint8Array(await res.body.arrayBuffer());
      } catch (err) {
        if (signal.aborted) throw err;
        if ((err as { code?: string })?.code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') throw this.tooLarge(param);
        throw errors.imageUnusable(param, `Parley could not fetch the image (${describe(err)})`);
      }
    }
  }

  private checkScheme(url: string, param: string, redirected: boolean): void {
    let scheme: string;
    try {
      scheme = new URL(url).protocol;
    } catch {
      throw errors.imageUnusable(param, 'the image URL is not a valid URL');
    }
    if (scheme !== 'https:' && !(scheme === 'http:' && this.opts.allowHttp)) {
      throw errors.imageUnusable(
        param,
        `${redirected ? 'the image URL redirects to' : 'the image URL uses'} ${scheme}//; Parley fetches images only over https:// (or send a data: URL)`,
      );
    }
    if (!this.opts.allowPrivateAddresses && isPrivate(new URL(url).hostname.replace(/^\[|\]$/g, ''))) {
      throw errors.imageUnusable(
        param,
        'the image URL leads to a private or local address, which Parley does not fetch',
      );
    }
  }

  private tooLarge(param: string) {
    return errors.imageUnusable(param, `the image is larger than ${Math.floor(this.opts.maxBytes / 1024 / 1024)} MiB`);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

function describe(err: unknown): string {
  const e = err as { name?: string; code?: string };
  if (e?.code === PRIVATE_CODE) return 'its host resolves to a private or local address, which Parley does not fetch';
  if (e?.name === 'TimeoutError' || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT')
    return 'timed out';
  return e?.code ?? 'network error';
}
