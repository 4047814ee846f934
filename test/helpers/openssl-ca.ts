/**
 * Certificate authorities made with the real openssl command line, for the MITM tests: a root made
 * the usual way (`req -x509 -addext basicConstraints=critical,CA:TRUE`), and odd ones (past or
 * future validity, no or non-CA basicConstraints, intermediates) through `openssl ca`, the only
 * openssl 3.0 command that takes explicit start and end dates.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type KeyFormat = 'rsa-pkcs8' | 'rsa-pkcs1' | 'ec-pkcs8' | 'ec-sec1' | 'ed25519';

export interface OpensslCa {
  readonly name: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
}

export function openssl(args: string[], cwd?: string): string {
  return execFileSync('openssl', args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd === undefined ? {} : { cwd }),
  });
}

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A private key in `format`, written to `file` (mode 0600, as openssl writes keys). */
export function opensslKey(file: string, format: KeyFormat): void {
  switch (format) {
    case 'rsa-pkcs8':
      openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file]);
      break;
    case 'rsa-pkcs1':
      openssl(['genrsa', '-traditional', '-out', file, '2048']);
      break;
    case 'ec-pkcs8':
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
      break;
    case 'ec-sec1': // EC PARAMETERS block, then EC PRIVATE KEY
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-out', file]);
      break;
    case 'ed25519':
      openssl(['genpkey', '-algorithm', 'ED25519', '-out', file]);
      break;
  }
}

/** Self-signed root, `req -x509 … -addext basicConstraints=critical,CA:TRUE`, valid 30 days from now. */
export function opensslRootCa(dir: string, name: string, format: KeyFormat): OpensslCa {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.pem`);
  opensslKey(keyFile, format);
  openssl([
    'req',
    '-x509',
    '-key',
    keyFile,
    '-out',
    certFile,
    '-days',
    '30',
    '-subj',
    `/O=tapgate tests/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { name, certFile, keyFile, certPem: readFileSync(certFile, 'utf8') };
}

export interface CaSpec {
  readonly format: KeyFormat;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** openssl extension lines (`basicConstraints=critical,CA:TRUE`); none gives a v1 certificate. */
  readonly extensions: readonly string[];
  /** Signs with this CA; self-signed when absent. */
  readonly issuer?: OpensslCa;
}

/** A certificate with explicit dates and extensions through `openssl ca`. */
export function opensslCaCertificate(dir: string, name: string, spec: CaSpec): OpensslCa {
  const work = join(dir, `${name}.ca-work`);
  mkdirSync(work);
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.pem`);
  const csr = join(work, 'req.csr');
  opensslKey(keyFile, spec.format);
  openssl(['req', '-new', '-key', keyFile, '-subj', `/O=tapgate tests/CN=${name}`, '-out', csr]);
  writeFileSync(join(work, 'index.txt'), '');
  writeFileSync(join(work, 'serial'), '1000\n');
  writeFileSync(
    join(work, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `database = ${join(work, 'index.txt')}`,
      `new_certs_dir = ${work}`,
      `serial = ${join(work, 'serial')}`,
      'default_md = sha256',
      'policy = policy',
      'unique_subject = no',
      '[policy]',
      'organizationName = supplied',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  const args = ['ca', '-batch', '-notext', '-config', join(work, 'ca.cnf'), '-in', csr];
  args.push('-out', certFile, '-startdate', asn1Time(spec.notBefore));
  args.push('-enddate', asn1Time(spec.notAfter));
  if (spec.issuer === undefined) args.push('-selfsign', '-keyfile', keyFile);
  else args.push('-cert', spec.issuer.certFile, '-keyfile', spec.issuer.keyFile);
  if (spec.extensions.length > 0) {
    const extFile = join(work, 'ext.cnf');
    writeFileSync(extFile, ['[ext]', ...spec.extensions, ''].join('\n'));
    args.push('-extfile', extFile, '-extensions', 'ext');
  }
  openssl(args);
  return { name, certFile, keyFile, certPem: readFileSync(certFile, 'utf8') };
}

export const CA_EXTENSIONS = [
  'basicConstraints = critical,CA:TRUE',
  'keyUsage = critical,keyCertSign,cRLSign',
  'subjectKeyIdentifier = hash',
] as const;

/** YYYYMMDDHHMMSSZ, as `openssl ca -startdate/-enddate` takes it. */
function asn1Time(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace(/[-:T]/g, '')}Z`;
}
