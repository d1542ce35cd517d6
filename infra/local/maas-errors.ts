/** OpenAI-style error bodies, as Huawei ModelArts MaaS answers them on its OpenAI-compatible API. */

export interface MaasError {
  status: number;
  body: { error: { message: string; type: string; param: string | null; code: string | null } };
  headers?: Record<string, string>;
}

const error = (
  status: number,
  message: string,
  type: string,
  code: string | null,
  headers?: Record<string, string>,
): MaasError => ({
  status,
  body: { error: { message, type, param: null, code } },
  ...(headers === undefined ? {} : { headers }),
});

export const invalidKey = (): MaasError =>
  error(401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key");

export const missingKey = (): MaasError =>
  error(
    401,
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    "invalid_request_error",
    null,
  );

export const accessDenied = (): MaasError =>
  error(
    403,
    "Access denied: this API key may not call this model (check the key's permissions and the model subscription)",
    "permission_denied",
    "access_denied",
  );

export const modelNotFound = (model: string): MaasError =>
  error(
    404,
    `The model \`${model}\` does not exist or you do not have access to it.`,
    "invalid_request_error",
    "model_not_found",
  );

export const invalidUrl = (method: string, path: string): MaasError =>
  error(404, `Invalid URL (${method} ${path})`, "invalid_request_error", null);

export const rateLimited = (retryAfterSeconds: number): MaasError =>
  error(
    429,
    `Rate limit reached for requests. Please try again in ${retryAfterSeconds}s.`,
    "requests",
    "rate_limit_exceeded",
    { "retry-after": String(retryAfterSeconds) },
  );

export const serverError = (status: number): MaasError =>
  status === 503
    ? error(503, "The engine is currently overloaded, please try again later", "server_error", null)
    : error(
        status,
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        null,
      );

export const badRequest = (message: string, param: string | null = null): MaasError => ({
  status: 400,
  body: { error: { message, type: "invalid_request_error", param, code: null } },
});

/** The error a `status` fault injects; the model name fills the 404 text. */
export function injectedError(status: number, model: string, retryAfterSeconds: number): MaasError {
  switch (status) {
    case 401:
      return invalidKey();
    case 403:
      return accessDenied();
    case 404:
      return modelNotFound(model);
    case 429:
      return rateLimited(retryAfterSeconds);
    default:
      return serverError(status);
  }
}
