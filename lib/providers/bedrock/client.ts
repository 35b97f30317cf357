import type { BedrockRuntimeClient, BedrockRuntimeClientConfig } from '@aws-sdk/client-bedrock-runtime'
import { LLMRTC_ERR_OPTIONS_INVALID } from '../../errors.js'
import { loadBedrockSDK } from './sdk.js'

/** Explicit AWS credentials (instead of the default credential chain). */
export interface BedrockCredentials {
  accessKeyId: string
  /** Secret: never logged. */
  secretAccessKey: string
  /** For temporary credentials (STS, SSO). Secret: never logged. */
  sessionToken?: string
}

/** How to reach Bedrock: region, credentials, endpoint. */
export interface BedrockClientOptions {
  /** AWS region of the Bedrock runtime (default: the SDK's own resolution, AWS_REGION or the profile's region). */
  region?: string
  /**
   * Credentials to sign with. Default: the AWS default credential chain (AWS_ACCESS_KEY_ID /
   * AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, shared config and credentials files, SSO, container and
   * instance roles).
   */
  credentials?: BedrockCredentials
  /** Named profile of the shared config files for the default chain (default: AWS_PROFILE or `default`). */
  profile?: string
  /** Base URL instead of `https://bedrock-runtime.<region>.amazonaws.com` (VPC endpoints, tests). */
  endpoint?: string
  /** A ready SDK client to use instead (custom middleware, proxies); the options above are then ignored. */
  client?: BedrockRuntimeClient
}

/**
 * The SDK client, with the SDK's own retries off (`maxAttempts: 1`): llmrtc's retry policy decides, and
 * it never retries once part of the answer was heard. The SDK's Bedrock runtime client speaks HTTP/2.
 * The SDK is imported on the first call.
 */
export async function createBedrockClient (options: BedrockClientOptions): Promise<BedrockRuntimeClient> {
  if (options.client !== undefined) return options.client
  const config = bedrockClientConfig(options)
  const { BedrockRuntimeClient } = await loadBedrockSDK()
  return new BedrockRuntimeClient(config)
}

/** The SDK client's configuration of `options`; throws LLMRTC_ERR_OPTIONS_INVALID on incomplete credentials. */
export function bedrockClientConfig (options: BedrockClientOptions): BedrockRuntimeClientConfig {
  const credentials = options.credentials
  if (credentials !== undefined && (typeof credentials.accessKeyId !== 'string' || credentials.accessKeyId === '' || typeof credentials.secretAccessKey !== 'string' || credentials.secretAccessKey === '')) {
    // Never echo the value: it holds a secret.
    throw new LLMRTC_ERR_OPTIONS_INVALID('credentials', 'an object with accessKeyId and secretAccessKey strings', 'an incomplete object')
  }
  return {
    maxAttempts: 1,
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(credentials !== undefined ? { credentials: { ...credentials } } : {}),
    ...(options.profile !== undefined ? { profile: options.profile } : {}),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {})
  }
}
