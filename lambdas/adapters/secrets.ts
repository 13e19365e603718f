import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { passwordFromEnv, type VipConfig } from '../config/config.js';
import { ConfigError } from '../domain/errors.js';
import type { VipTarget } from '../domain/ports.js';

/** Secrets are cached for five minutes: a rotation is picked up without a read on every probe attempt. */
const SECRET_MAX_AGE_SECONDS = 300;

/** A password from the config's reference: inline, an environment variable, or a Secrets Manager secret's `password`. */
export async function resolvePassword(
  ref: { password?: string | undefined; passwordEnv?: string | undefined; passwordSecret?: string | undefined },
  what: string,
): Promise<string> {
  const fromEnv = passwordFromEnv(ref, what);
  if (fromEnv) return fromEnv;
  if (!ref.passwordSecret) throw new ConfigError(`${what}: no password, passwordEnv or passwordSecret`);
  const secret = await getSecret<{ password?: string }>(ref.passwordSecret, { transform: 'json', maxAge: SECRET_MAX_AGE_SECONDS });
  if (!secret?.password) throw new ConfigError(`${what}: secret ${ref.passwordSecret} has no "password" key`);
  return secret.password;
}

export async function vipTarget(cluster: string, vip: VipConfig): Promise<VipTarget> {
  return {
    host: vip.host,
    port: vip.port,
    database: vip.database,
    user: vip.user,
    password: await resolvePassword(vip, `clusters.${cluster}.vip`),
    sslMode: vip.sslMode,
    caFile: vip.caFile,
  };
}
