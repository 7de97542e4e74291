/**
 * TLS settings as etcd's flags give them, for one side (clients or peers): a certificate and key
 * (or --auto-tls: a self-signed pair made in the data directory), the CA that signs the other
 * side's certificates, and whether the other side must present one.
 *
 * Owns: what the flags mean together and etcd's refusals (an https:// URL with no certificate).
 * Never: reads the files (tls/files.ts does, once the member starts).
 */

export interface TlsSettings {
  certFile?: string;
  keyFile?: string;
  /** Verifies the other side's certificates: the clients' (with clientCertAuth) or the peers'. */
  trustedCaFile?: string;
  /** The other side must present a certificate the trusted CA signed. */
  clientCertAuth: boolean;
  /** No files given: make a self-signed pair under the data directory (and verify no one). */
  autoTls: boolean;
}

export type TlsSide = "client" | "peer";

/**
 * A warning when the peer port's only guard is a token anyone can know: the default one (etcd's,
 * public) without peer client-certificate auth. Undefined otherwise.
 */
export function weakPeerGuard(token: string, defaultToken: string, peer: TlsSettings): string | undefined {
  if (peer.clientCertAuth || token !== defaultToken) return undefined;
  return `the peer port trusts whoever knows --initial-cluster-token, and "${defaultToken}" is everyone's default: ` +
    "give a secret token, or serve peers over TLS with --peer-client-cert-auth";
}

/** Whether the settings give this side a certificate to serve with. */
export const hasCertificate = (s: TlsSettings) => (s.certFile !== undefined && s.keyFile !== undefined) || s.autoTls;

/**
 * Why these settings cannot serve `urls`, in etcd's words, or undefined when they can. `side`
 * names the flags in the message.
 */
export function tlsRefusal(side: TlsSide, settings: TlsSettings, urls: readonly URL[]): string | undefined {
  const flags = side === "client" ? "--cert-file, --key-file" : "--peer-cert-file, --peer-key-file";
  if ((settings.certFile === undefined) !== (settings.keyFile === undefined)) {
    return `TLS key/cert (${flags}) must be given together`;
  }
  for (const url of urls) {
    if (url.protocol !== "https:" || hasCertificate(settings)) continue;
    return side === "client"
      ? `TLS key/cert (${flags}) must be provided for client url ${url.toString().replace(/\/$/, "")} with HTTPS scheme`
      : `cannot listen on TLS for ${url.host}: KeyFile and CertFile are not presented`;
  }
  if (settings.clientCertAuth && settings.trustedCaFile === undefined) {
    const [auth, ca] = side === "client" ? ["--client-cert-auth", "--trusted-ca-file"] : ["--peer-client-cert-auth", "--peer-trusted-ca-file"];
    return `${auth} needs ${ca}: without a CA to check them against, every certificate would be refused`;
  }
  return undefined;
}
