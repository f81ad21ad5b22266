//! Single sign-on with an OpenID Connect provider (Keycloak, Entra ID, Okta, Google, …), through
//! the `openidconnect` crate: discovery, the authorization-code flow with PKCE, `state` and
//! `nonce`, ID tokens checked against the provider's JWKS (fetched again when a token names a
//! key the cached set lacks, so rotated keys are picked up), issuer, audience and expiry with a
//! tolerated clock skew, refresh tokens for the periodic check, and RP-initiated logout.

pub mod mapping;

use mapping::GroupMapping;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreIdToken, CoreIdTokenVerifier,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndSessionUrl, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::RwLock;

/// The client type discovery gives: an authorization endpoint, maybe token and userinfo ones.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// How Watershed signs users in with the provider, parsed from the serve settings.
#[derive(Clone)]
pub struct SsoSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Where the provider sends the browser back: `<public URL>/auth/oidc/callback`.
    pub redirect_url: String,
    /// Scopes asked for beside `openid`.
    pub scopes: Vec<String>,
    /// The provider's name on the sign-in button.
    pub provider_name: String,
    /// The claim a user's name is read from (an e-mail address gives its local part).
    pub username_claim: String,
    /// The claim listing a user's groups.
    pub groups_claim: String,
    pub mapping: GroupMapping,
    /// Where the provider sends the browser after signing out (RP-initiated logout).
    pub post_logout_url: String,
    /// Tolerated difference between the provider's clock and ours.
    pub clock_skew: Duration,
    /// How often each SSO user is checked with the provider (refresh token).
    pub check_every: Duration,
}

impl std::fmt::Debug for SsoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("mapping", &self.mapping.describe())
            .finish()
    }
}

/// Why a sign-in with the provider failed: each says what happened in words a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    #[error("the identity provider at {issuer} could not be reached or described itself wrongly: {cause}")]
    Discovery { issuer: String, cause: String },
    #[error("the identity provider refused the sign-in: {0}")]
    Provider(String),
    #[error("this sign-in was already used or has expired; start again")]
    UnknownState,
    #[error("this sign-in was started in another browser or tab; start again from this one")]
    StateMismatch,
    #[error("the identity provider did not accept the sign-in code: {0}")]
    Exchange(String),
    #[error("the identity provider sent no ID token")]
    NoIdToken,
    #[error("the ID token's signature does not match the provider's keys")]
    BadSignature,
    #[error("the ID token is for another application (audience {0})")]
    WrongAudience(String),
    #[error("the ID token was issued by another provider ({0})")]
    WrongIssuer(String),
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token does not belong to this sign-in (nonce)")]
    WrongNonce,
    #[error("the ID token is not valid: {0}")]
    BadToken(String),
    #[error("the ID token has no usable {claim} claim: {why}")]
    Claim { claim: String, why: String },
    #[error("your groups at the identity provider give you no role here; ask an administrator")]
    NoRole,
    #[error("{0}")]
    Refused(String),
}

impl SsoError {
    /// What the person signing in is told: the provider's and the exchange's details (hosts,
    /// transport errors) stay in the server log and the audit log.
    pub fn for_user(&self) -> String {
        match self {
            SsoError::Discovery { .. } | SsoError::Exchange(_) => {
                "the identity provider could not finish the sign-in; try again, or tell an \
                 administrator (the server log has the details)"
                    .to_string()
            }
            other => other.to_string(),
        }
    }
}

/// The provider as discovery described it, with its keys.
struct Provider {
    client: Client,
    end_session: Option<EndSessionUrl>,
}

/// A sign-in in flight: what the callback needs back.
pub struct Begun {
    pub authorize_url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The tokens of a finished code exchange, the ID token checked.
pub struct Exchanged {
    /// The ID token as the provider sent it (kept for the logout hint).
    pub id_token: String,
    /// Its claims, as JSON.
    pub claims: serde_json::Value,
    pub refresh_token: Option<String>,
}

/// What a periodic check with the provider found.
pub enum Checked {
    /// Still let in; a new refresh token (when the provider rotates them) and the claims of a
    /// new ID token, when one came.
    Allowed {
        refresh_token: Option<String>,
        claims: Option<serde_json::Value>,
    },
    /// The provider no longer lets the user in (the grant is invalid).
    Refused(String),
}

/// The provider, discovered on first use and again when its keys change.
pub struct Sso {
    pub settings: SsoSettings,
    http: reqwest::Client,
    provider: RwLock<Option<Arc<Provider>>>,
}

impl Sso {
    /// A provider client; nothing is fetched until the first sign-in.
    pub fn new(settings: SsoSettings) -> anyhow::Result<Self> {
        IssuerUrl::new(settings.issuer.clone())?;
        RedirectUrl::new(settings.redirect_url.clone())?;
        let http = reqwest::Client::builder()
            // Following redirects from the provider's endpoints opens the server up to SSRF.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            // A few calls per sign-in: a pooled connection the provider has meanwhile closed
            // (Node's keep-alive ends after 5 s) would fail the exchange with a reset.
            .pool_max_idle_per_host(0)
            .build()?;
        Ok(Self {
            settings,
            http,
            provider: RwLock::new(None),
        })
    }

    async fn discover(&self) -> Result<Arc<Provider>, SsoError> {
        let s = &self.settings;
        let fail = |cause: String| SsoError::Discovery {
            issuer: s.issuer.clone(),
            cause,
        };
        let issuer = IssuerUrl::new(s.issuer.clone()).map_err(|e| fail(e.to_string()))?;
        let meta = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| fail(error_chain(&e)))?;
        let end_session = meta.additional_metadata().end_session_endpoint.clone();
        let redirect = RedirectUrl::new(s.redirect_url.clone()).map_err(|e| fail(e.to_string()))?;
        let client = CoreClient::from_provider_metadata(
            meta,
            ClientId::new(s.client_id.clone()),
            Some(ClientSecret::new(s.client_secret.clone())),
        )
        .set_redirect_uri(redirect);
        let provider = Arc::new(Provider {
            client,
            end_session,
        });
        *self.provider.write().await = Some(provider.clone());
        Ok(provider)
    }

    async fn provider(&self) -> Result<Arc<Provider>, SsoError> {
        if let Some(p) = self.provider.read().await.clone() {
            return Ok(p);
        }
        self.discover().await
    }

    /// Starts a sign-in: the provider's authorization URL with a fresh `state`, `nonce` and
    /// PKCE challenge (S256).
    pub async fn begin(&self) -> Result<Begun, SsoError> {
        let provider = self.provider().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = provider.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Begun {
            authorize_url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges a sign-in code (with its PKCE verifier) and checks the ID token against
    /// `nonce` at the time `now`.
    pub async fn exchange(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Exchanged, SsoError> {
        let provider = self.provider().await?;
        let response = provider
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| SsoError::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| SsoError::Exchange(token_error(&e)))?;
        let id_token = response.id_token().ok_or(SsoError::NoIdToken)?.to_string();
        let claims = self.verify_id_token(&id_token, Some(nonce), now).await?;
        Ok(Exchanged {
            id_token,
            claims,
            refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        })
    }

    /// Checks an ID token: signature against the provider's keys (fetched again once when the
    /// token names a key the cached set lacks), issuer, audience, expiry at `now` less the
    /// tolerated skew, and the nonce when one is given. Returns its claims.
    pub async fn verify_id_token(
        &self,
        raw: &str,
        nonce: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<serde_json::Value, SsoError> {
        let token: CoreIdToken = raw
            .parse()
            .map_err(|e: serde_json::Error| SsoError::BadToken(e.to_string()))?;
        let provider = self.provider().await?;
        match self.check(&provider, &token, nonce, now) {
            Err(SsoError::BadSignature) => {
                // The provider may have rotated its keys since discovery.
                let provider = self.discover().await?;
                self.check(&provider, &token, nonce, now)?;
            }
            other => other?,
        }
        payload(raw)
    }

    fn check(
        &self,
        provider: &Provider,
        token: &CoreIdToken,
        nonce: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), SsoError> {
        use openidconnect::{ClaimsVerificationError as E, SignatureVerificationError as S};
        let skew = chrono::Duration::from_std(self.settings.clock_skew).unwrap_or_default();
        let verifier: CoreIdTokenVerifier = provider
            .client
            .id_token_verifier()
            .set_time_fn(move || now - skew);
        let result = match nonce {
            Some(n) => token
                .claims(&verifier, &Nonce::new(n.to_string()))
                .map(|_| ()),
            None => token
                .claims(&verifier, |_: Option<&Nonce>| Ok(()))
                .map(|_| ()),
        };
        result.map_err(|e| match e {
            E::SignatureVerification(S::NoMatchingKey | S::CryptoError(_)) => {
                SsoError::BadSignature
            }
            E::SignatureVerification(other) => SsoError::BadToken(other.to_string()),
            E::Expired(_) => SsoError::Expired,
            E::InvalidAudience(_) => {
                let aud = payload(&token.to_string())
                    .ok()
                    .map(|c| c["aud"].to_string())
                    .unwrap_or_default();
                SsoError::WrongAudience(aud)
            }
            E::InvalidIssuer(_) => {
                let iss = payload(&token.to_string())
                    .ok()
                    .map(|c| c["iss"].to_string())
                    .unwrap_or_default();
                SsoError::WrongIssuer(iss)
            }
            E::InvalidNonce(_) => SsoError::WrongNonce,
            other => SsoError::BadToken(other.to_string()),
        })
    }

    /// Asks the provider whether a user is still let in, with their refresh token.
    pub async fn check_user(
        &self,
        refresh_token: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Checked, SsoError> {
        let provider = self.provider().await?;
        let response = provider
            .client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_string()))
            .map_err(|e| SsoError::Exchange(e.to_string()))?
            .request_async(&self.http)
            .await;
        match response {
            Ok(r) => {
                let claims = match r.id_token() {
                    Some(t) => Some(self.verify_id_token(&t.to_string(), None, now).await?),
                    None => None,
                };
                Ok(Checked::Allowed {
                    refresh_token: r.refresh_token().map(|t| t.secret().clone()),
                    claims,
                })
            }
            Err(RequestTokenError::ServerResponse(e))
                if *e.error() == CoreErrorResponseType::InvalidGrant =>
            {
                Ok(Checked::Refused(
                    e.error_description()
                        .cloned()
                        .unwrap_or_else(|| "invalid_grant".into()),
                ))
            }
            Err(e) => Err(SsoError::Exchange(token_error(&e))),
        }
    }

    /// The provider's end-session URL for a signed-out user (RP-initiated logout), when it
    /// offers one.
    pub async fn logout_url(&self, id_token: Option<&str>) -> Option<String> {
        let provider = self.provider().await.ok()?;
        let endpoint = provider.end_session.clone()?;
        let mut request = LogoutRequest::from(endpoint)
            .set_client_id(ClientId::new(self.settings.client_id.clone()))
            .set_state(CsrfToken::new_random());
        if let Ok(url) = PostLogoutRedirectUrl::new(self.settings.post_logout_url.clone()) {
            request = request.set_post_logout_redirect_uri(url);
        }
        if let Some(token) = id_token.and_then(|t| t.parse::<CoreIdToken>().ok()) {
            request = request.set_id_token_hint(&token);
        }
        Some(request.http_get_url().to_string())
    }
}

/// An ID token's claims as JSON (its signature is checked before this is trusted).
fn payload(raw: &str) -> Result<serde_json::Value, SsoError> {
    use base64::Engine;
    let part = raw
        .split('.')
        .nth(1)
        .ok_or_else(|| SsoError::BadToken("not a JWT".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| SsoError::BadToken(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| SsoError::BadToken(e.to_string()))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn token_error<RE: std::error::Error + 'static, T: openidconnect::ErrorResponse + 'static>(
    e: &RequestTokenError<RE, T>,
) -> String {
    match e {
        RequestTokenError::ServerResponse(r) => r.to_string(),
        other => error_chain(other),
    }
}

/// A user's profile as the ID token's claims give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub issuer: String,
    pub subject: String,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub groups: Vec<String>,
}

impl SsoSettings {
    /// The profile in verified claims: the name from the configured claim (an e-mail address
    /// gives its local part), which must be a valid user name; groups as a list of strings.
    pub fn profile(&self, claims: &serde_json::Value) -> Result<Profile, SsoError> {
        let text = |name: &str| claims[name].as_str().unwrap_or_default().to_string();
        let claim = |why: &str| SsoError::Claim {
            claim: self.username_claim.clone(),
            why: why.to_string(),
        };
        let raw = text(&self.username_claim);
        if raw.is_empty() {
            return Err(claim("it is missing"));
        }
        // An address the provider has not verified names nobody: anyone could have typed it.
        if raw.contains('@') && claims["email_verified"] == serde_json::Value::Bool(false) {
            return Err(claim("its e-mail address is not verified at the provider"));
        }
        let local = raw.split('@').next().unwrap_or_default();
        let username = crate::domain::parse_username(&self.username_claim, local)
            .map_err(|e| claim(&e.message))?;
        let groups = match &claims[self.groups_claim.as_str()] {
            serde_json::Value::Null => Vec::new(),
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|g| g.as_str().map(str::to_string))
                .collect(),
            serde_json::Value::String(one) => vec![one.clone()],
            _ => {
                return Err(SsoError::Claim {
                    claim: self.groups_claim.clone(),
                    why: "it is not a list of group names".into(),
                })
            }
        };
        Ok(Profile {
            issuer: text("iss"),
            subject: text("sub"),
            username,
            email: text("email"),
            display_name: text("name"),
            groups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> SsoSettings {
        SsoSettings {
            issuer: "http://127.0.0.1:1/".into(),
            client_id: "watershed".into(),
            client_secret: "s".into(),
            redirect_url: "http://127.0.0.1:2/auth/oidc/callback".into(),
            scopes: vec![],
            provider_name: "Test".into(),
            username_claim: "preferred_username".into(),
            groups_claim: "groups".into(),
            mapping: GroupMapping::default(),
            post_logout_url: "http://127.0.0.1:2/login".into(),
            clock_skew: Duration::from_secs(60),
            check_every: Duration::from_secs(900),
        }
    }

    #[test]
    fn a_profile_takes_the_local_part_of_an_email_name_and_a_single_group() {
        let claims = serde_json::json!({"iss": "i", "sub": "42", "preferred_username": "Alice@Example.com",
                                        "groups": "data-devs", "email": "alice@example.com"});
        let p = settings().profile(&claims).unwrap();
        assert_eq!(p.username, "alice");
        assert_eq!(p.groups, vec!["data-devs".to_string()]);
        assert_eq!(p.email, "alice@example.com");
    }

    #[test]
    fn a_missing_or_unusable_name_claim_is_named() {
        let e = settings()
            .profile(&serde_json::json!({"sub": "1"}))
            .unwrap_err();
        assert!(e.to_string().contains("preferred_username"), "{e}");
        let e = settings()
            .profile(&serde_json::json!({"sub": "1", "preferred_username": "9lives"}))
            .unwrap_err();
        assert!(e.to_string().contains("not a user name"), "{e}");
        let e = settings()
            .profile(&serde_json::json!({"sub": "1", "preferred_username": "ann", "groups": 3}))
            .unwrap_err();
        assert!(e.to_string().contains("groups"), "{e}");
    }

    #[test]
    fn an_unverified_address_names_nobody() {
        let mut s = settings();
        s.username_claim = "email".into();
        let claims =
            serde_json::json!({"sub": "1", "email": "ann@example.com", "email_verified": false});
        let e = s.profile(&claims).unwrap_err();
        assert!(e.to_string().contains("not verified"), "{e}");
        let claims =
            serde_json::json!({"sub": "1", "email": "ann@example.com", "email_verified": true});
        assert_eq!(s.profile(&claims).unwrap().username, "ann");
    }

    #[test]
    fn transport_details_stay_out_of_what_the_user_is_told() {
        let e = SsoError::Exchange("connection refused at 10.0.0.7:8443".into());
        assert!(!e.for_user().contains("10.0.0.7"), "{}", e.for_user());
        assert!(SsoError::Expired.for_user().contains("expired"));
    }

    #[test]
    fn a_token_that_is_not_a_jwt_is_refused_in_words() {
        assert!(matches!(payload("abc"), Err(SsoError::BadToken(_))));
    }
}
