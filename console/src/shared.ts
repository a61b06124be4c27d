/**
 * State shared between pages for this page load only: the client key the Keys page just
 * created, handed to the Playground ("Try it in the playground"). Never stored: a secret is
 * shown once.
 */
export const shared = { clientKey: '' };

/** What /admin/routes answers (src/console/admin-routes.ts). */
export interface RouteTable {
  windowMinutes: number;
  listed: string[];
  models: { model: string; targets: { provider: string; model: string }[]; fallbackReply: boolean }[];
  defaultProvider: string | null;
  prefixes: { prefix: string; provider: string }[];
  providers: {
    id: string;
    type: string;
    requests: number;
    errorRate: number | null;
    p50Ms: number | null;
    p95Ms: number | null;
    ttftP50Ms: number | null;
  }[];
}
