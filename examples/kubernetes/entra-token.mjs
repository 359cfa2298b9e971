#!/usr/bin/env node
// An Entra ID access token for the Foundry Agent Service, from Azure Workload Identity, for
// ASSISTANTS_OTEL_TOKEN_COMMAND. The workload identity webhook gives the pod a Kubernetes service
// account token (AZURE_FEDERATED_TOKEN_FILE, audience api://AzureADTokenExchange) and names the
// identity (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_AUTHORITY_HOST). That token is not an access
// token for the API: it is exchanged here, as a client assertion, for one (OAuth 2.0 client
// credentials, RFC 7523), and the answer ({"access_token", "expires_in", …}) is printed as is;
// assistants-otel reads `access_token` and caches it until shortly before `expires_in` runs out.
// Node's own fetch, no dependency: it runs in the sidecar's image.
import { readFileSync } from 'node:fs';

const SCOPE = process.env.ASSISTANTS_OTEL_TOKEN_SCOPE ?? 'https://ai.azure.com/.default';

function required(name) {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`entra-token: ${name} is not set (is the pod labelled azure.workload.identity/use: "true", with an annotated service account?)\n`);
    process.exit(1);
  }
  return value;
}

const tenant = required('AZURE_TENANT_ID');
const clientId = required('AZURE_CLIENT_ID');
const tokenFile = required('AZURE_FEDERATED_TOKEN_FILE');
const authority = (process.env.AZURE_AUTHORITY_HOST ?? 'https://login.microsoftonline.com/').replace(/\/?$/, '/');

let assertion;
try {
  assertion = readFileSync(tokenFile, 'utf8').trim();
} catch (error) {
  process.stderr.write(`entra-token: cannot read AZURE_FEDERATED_TOKEN_FILE ${tokenFile}: ${error.message}\n`);
  process.exit(1);
}

const response = await fetch(`${authority}${encodeURIComponent(tenant)}/oauth2/v2.0/token`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: clientId,
    scope: SCOPE,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion,
  }),
  signal: AbortSignal.timeout(20_000),
}).catch((error) => {
  process.stderr.write(`entra-token: ${authority} could not be reached: ${error.message}\n`);
  process.exit(1);
});
const text = await response.text();
if (!response.ok) {
  // Entra's error answer names the problem (AADSTS… codes) and holds no secret.
  let reason = text.slice(0, 500);
  try {
    const body = JSON.parse(text);
    reason = `${body.error ?? ''}: ${body.error_description ?? ''}`.split(/\r?\n/)[0];
  } catch {
    // not JSON: shown as sent, cut
  }
  process.stderr.write(`entra-token: token exchange refused (HTTP ${response.status}) ${reason}\n`);
  process.exit(1);
}
process.stdout.write(text);
