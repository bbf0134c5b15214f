/**
 * Access control for the metrics HTTP endpoint: an optional bearer token and/or HTTP basic
 * credentials from `[metrics]`. Comparisons run in constant time, so response timing does
 * not reveal how much of a guess was right. With neither configured every request passes
 * (the endpoint is loopback-only by default).
 */
import { timingSafeEqual } from "node:crypto";

export interface HttpCredentials {
  bearerToken: string | null;
  basicAuth: string | null;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (x.length !== y.length) {
    // Still compare something of the same size, so the time does not depend on the guess.
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** null when the request may proceed, otherwise the 401 response to send. */
export function checkHttpAuth(creds: HttpCredentials, request: Request): Response | null {
  if (creds.bearerToken === null && creds.basicAuth === null) return null;
  const header = request.headers.get("authorization") ?? "";
  const space = header.indexOf(" ");
  const scheme = space < 0 ? "" : header.slice(0, space).toLowerCase();
  const value = space < 0 ? "" : header.slice(space + 1).trim();
  if (scheme === "bearer" && creds.bearerToken !== null && same(value, creds.bearerToken))
    return null;
  if (scheme === "basic" && creds.basicAuth !== null) {
    let decoded = "";
    try {
      decoded = Buffer.from(value, "base64").toString("utf8");
    } catch {
      decoded = "";
    }
    if (same(decoded, creds.basicAuth)) return null;
  }
  const challenges: string[] = [];
  if (creds.bearerToken !== null) challenges.push('Bearer realm="blobasaur"');
  if (creds.basicAuth !== null) challenges.push('Basic realm="blobasaur"');
  return new Response("unauthorized\n", {
    status: 401,
    headers: { "www-authenticate": challenges.join(", "), "content-type": "text/plain" },
  });
}
