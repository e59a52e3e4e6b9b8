// The admin's session over REST (PROTOCOL §2): login, refresh (rotation), logout. Tokens live in
// memory only: nothing in localStorage to outlive the tab or leak to another page; a reload asks
// for the password again.

/** Why a REST call failed: `code` is the contract's error code (or `network`). */
export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** A human sentence for the login form. */
export function explain(error) {
  switch (error.code) {
    case 'invalid_credentials':
      return 'Wrong e-mail or password.';
    case 'audience_mismatch':
      return 'This account is not an operator account.';
    case 'user_inactive':
      return 'This account is disabled.';
    case 'validation_failed':
      return 'Enter an e-mail and a password.';
    case 'rate_limited':
      return 'Too many attempts; wait a moment.';
    case 'network':
      return 'The server cannot be reached.';
    default:
      return `Login failed (${error.code}).`;
  }
}

async function postJson(fetchImpl, url, body, headers = {}) {
  let res;
  try {
    res = await fetchImpl(url, {
      method: 'POST',
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError('network', String(e?.message ?? e), 0);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const err = json?.error ?? {};
    throw new ApiError(err.code ?? `http_${res.status}`, err.message ?? res.statusText, res.status);
  }
  return json;
}

/** One logged-in admin: its tokens, when the access token expires, who it is. */
export class Session {
  /**
   * @param {object} login the body of a login or refresh answer
   * @param {{base?: string, fetchImpl?: typeof fetch}} [options]
   */
  constructor(login, { base = '', fetchImpl = globalThis.fetch.bind(globalThis) } = {}) {
    this.base = base;
    this.fetchImpl = fetchImpl;
    this.adopt(login);
  }

  /** `POST /api/auth/login` as an admin (`admin_panel`, a web session). */
  static async login(email, password, options = {}) {
    const { base = '', fetchImpl = globalThis.fetch.bind(globalThis) } = options;
    const body = await postJson(fetchImpl, `${base}/api/auth/login`, {
      email,
      password,
      appAudience: 'admin_panel',
      sessionType: 'web',
    });
    return new Session(body, { base, fetchImpl });
  }

  adopt(login) {
    if (!login || typeof login.accessToken !== 'string' || typeof login.refreshToken !== 'string') {
      throw new ApiError('invalid_answer', 'the server answered without tokens', 0);
    }
    this.accessToken = login.accessToken;
    this.refreshToken = login.refreshToken;
    this.sessionId = login.sessionId ?? null;
    this.user = login.user ?? this.user ?? null;
    const at = Date.parse(login.accessTokenExpiresAt ?? '');
    this.accessExpiresAt = Number.isNaN(at) ? null : at;
  }

  /** Milliseconds until the access token should be refreshed: a minute before it expires. */
  refreshDelay(now = Date.now()) {
    if (this.accessExpiresAt === null) return null;
    return Math.max(this.accessExpiresAt - now - 60_000, 5_000);
  }

  /** `POST /api/auth/refresh`: a new pair (the old refresh token stops working). */
  async refresh() {
    const body = await postJson(this.fetchImpl, `${this.base}/api/auth/refresh`, {
      refreshToken: this.refreshToken,
    });
    this.adopt(body);
    return this;
  }

  /** `POST /api/auth/logout`; the server disconnects the session's sockets. */
  async logout() {
    await postJson(this.fetchImpl, `${this.base}/api/auth/logout`, undefined, {
      authorization: `Bearer ${this.accessToken}`,
    });
  }
}
