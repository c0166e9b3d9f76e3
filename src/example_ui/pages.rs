//! The example app's HTML: plain `format!` templates, every value through
//! [`escape`](crate::http::html::escape). No JavaScript; one inline style sheet.
//! May import: `http::html` (escaping only).

use crate::http::html::escape;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.4rem}label{display:block;margin:.6rem 0}input[type=text],input[type=email],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}\
button{padding:.45rem 1rem;margin:.8rem .4rem 0 0}.error{color:#a40000;font-weight:600}.muted{color:#666;font-size:.9rem}\
code,pre{background:#f3f3f3;padding:.1rem .3rem;word-break:break-all;white-space:pre-wrap}img.logo{max-height:3rem}";

/// A whole page around `body` (already HTML).
pub fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} · Portcullis example</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n<p class=\"muted\">Portcullis example login, consent and logout app.</p>\n</body>\n</html>\n",
        escape(title)
    )
}

/// A page with a heading, a paragraph and an optional link (href, text).
pub fn message(title: &str, text: &str, link: Option<(&str, &str)>) -> String {
    let link = link
        .map(|(href, label)| {
            format!(
                "<p><a id=\"continue\" href=\"{}\">{}</a></p>",
                escape(href),
                escape(label)
            )
        })
        .unwrap_or_default();
    layout(
        title,
        &format!(
            "<h1>{}</h1>\n<p>{}</p>\n{link}",
            escape(title),
            escape(text)
        ),
    )
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

/// What the login form shows.
pub struct LoginView<'a> {
    pub challenge: &'a str,
    pub csrf: &'a str,
    pub client: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
    pub hint: Option<(&'a str, &'a str)>,
}

/// The login form: e-mail, password, remember me; sign in or cancel (reject).
pub fn login(v: &LoginView<'_>) -> String {
    let error = v
        .error
        .map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", escape(e)))
        .unwrap_or_default();
    let hint = v
        .hint
        .map(|(email, password)| {
            format!(
                "<p class=\"muted\">Demo user: <code>{}</code> / <code>{}</code></p>",
                escape(email),
                escape(password)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1>\n<p><strong>{client}</strong> asks you to sign in.</p>\n{error}\n\
<form method=\"post\" action=\"/login\">\n{challenge}\n{csrf}\n\
<label>E-mail <input type=\"email\" id=\"email\" name=\"email\" value=\"{email}\" autocomplete=\"username\" required></label>\n\
<label>Password <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\"></label>\n\
<label><input type=\"checkbox\" id=\"remember\" name=\"remember\" value=\"1\"> Remember me</label>\n\
<button type=\"submit\" id=\"accept\" name=\"action\" value=\"login\">Sign in</button>\
<button type=\"submit\" id=\"reject\" name=\"action\" value=\"reject\" formnovalidate>Cancel</button>\n</form>\n{hint}",
        client = escape(v.client),
        challenge = hidden("challenge", v.challenge),
        csrf = hidden("_csrf", v.csrf),
        email = escape(v.email),
    );
    layout("Sign in", &body)
}

/// What the consent form shows.
pub struct ConsentView<'a> {
    pub challenge: &'a str,
    pub csrf: &'a str,
    pub client: &'a str,
    /// Only an http(s) URL; anything else is not shown.
    pub logo: Option<&'a str>,
    pub subject: &'a str,
    pub scopes: &'a [String],
    pub audience: &'a [String],
}

/// The consent form: the client, the scopes as checkboxes, remember; allow or deny.
pub fn consent(v: &ConsentView<'_>) -> String {
    let logo = v
        .logo
        .map(|l| format!("<p><img class=\"logo\" src=\"{}\" alt=\"\"></p>", escape(l)))
        .unwrap_or_default();
    let scopes: String = v
        .scopes
        .iter()
        .map(|s| {
            format!(
                "<label><input type=\"checkbox\" class=\"scope\" name=\"grant_scope\" value=\"{0}\" checked> {0}</label>\n",
                escape(s)
            )
        })
        .collect();
    let audience = if v.audience.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = v
            .audience
            .iter()
            .map(|a| format!("<code>{}</code>", escape(a)))
            .collect();
        format!(
            "<p>Access tokens will be valid at: {}</p>\n",
            list.join(", ")
        )
    };
    let body = format!(
        "<h1>Allow access?</h1>\n{logo}<p><strong id=\"client\">{client}</strong> wants access to your account <code>{subject}</code>.</p>\n\
<form method=\"post\" action=\"/consent\">\n{challenge}\n{csrf}\n<fieldset><legend>Requested permissions</legend>\n{scopes}</fieldset>\n{audience}\
<label><input type=\"checkbox\" id=\"remember\" name=\"remember\" value=\"1\"> Do not ask me again</label>\n\
<button type=\"submit\" id=\"accept\" name=\"action\" value=\"accept\">Allow</button>\
<button type=\"submit\" id=\"reject\" name=\"action\" value=\"deny\">Deny</button>\n</form>",
        client = escape(v.client),
        subject = escape(v.subject),
        challenge = hidden("challenge", v.challenge),
        csrf = hidden("_csrf", v.csrf),
    );
    layout("Allow access", &body)
}

/// The logout confirmation: yes or no.
pub fn logout(challenge: &str, csrf: &str, subject: &str) -> String {
    let who = if subject.is_empty() {
        String::new()
    } else {
        format!(" as <code>{}</code>", escape(subject))
    };
    let body = format!(
        "<h1>Sign out?</h1>\n<p>You are signed in{who}. Do you want to sign out?</p>\n\
<form method=\"post\" action=\"/logout\">\n{}\n{}\n\
<button type=\"submit\" id=\"accept\" name=\"action\" value=\"accept\">Yes, sign me out</button>\
<button type=\"submit\" id=\"reject\" name=\"action\" value=\"cancel\">No, stay signed in</button>\n</form>",
        hidden("challenge", challenge),
        hidden("_csrf", csrf)
    );
    layout("Sign out", &body)
}

/// What the demo client's callback shows.
pub struct CallbackView<'a> {
    pub code: &'a str,
    /// The token response, or why the exchange failed.
    pub tokens: Result<&'a serde_json::Value, &'a str>,
    /// The ID token's claims, pretty-printed.
    pub id_claims: Option<&'a str>,
    pub logout_url: &'a str,
    pub again_url: &'a str,
}

/// The demo client's callback: the code, then the tokens it was exchanged for.
pub fn callback(v: &CallbackView<'_>) -> String {
    let tokens = match v.tokens {
        Ok(t) => {
            let field = |name: &str| {
                let value = t[name].as_str().unwrap_or("(none)");
                format!(
                    "<dt>{name}</dt><dd><code id=\"{name}\">{}</code></dd>\n",
                    escape(value)
                )
            };
            let claims = v
                .id_claims
                .map(|c| {
                    format!(
                        "<h2>ID token claims</h2>\n<pre id=\"id_token_claims\">{}</pre>\n",
                        escape(c)
                    )
                })
                .unwrap_or_default();
            format!(
                "<h2>Tokens</h2>\n<dl>\n{}{}{}<dt>expires_in</dt><dd><code>{}</code></dd>\n<dt>scope</dt><dd><code>{}</code></dd>\n</dl>\n{claims}",
                field("access_token"),
                field("refresh_token"),
                field("id_token"),
                escape(&t["expires_in"].to_string()),
                escape(t["scope"].as_str().unwrap_or_default()),
            )
        }
        Err(e) => format!(
            "<p class=\"error\" id=\"error\">The code could not be exchanged: {}</p>",
            escape(e)
        ),
    };
    let body = format!(
        "<h1>Signed in</h1>\n<p>The authorization code: <code id=\"code\">{}</code></p>\n{tokens}\
<p><a id=\"logout\" href=\"{}\">Sign out</a> · <a id=\"again\" href=\"{}\">Sign in again</a></p>",
        escape(v.code),
        escape(v.logout_url),
        escape(v.again_url)
    );
    layout("Signed in", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_escaped() {
        let evil = "\"><script>alert(1)</script>";
        let scopes = vec![evil.to_string()];
        let pages = [
            login(&LoginView {
                challenge: evil,
                csrf: evil,
                client: evil,
                email: evil,
                error: Some(evil),
                hint: Some((evil, evil)),
            }),
            consent(&ConsentView {
                challenge: evil,
                csrf: evil,
                client: evil,
                logo: Some(evil),
                subject: evil,
                scopes: &scopes,
                audience: &scopes,
            }),
            logout(evil, evil, evil),
            message(evil, evil, Some((evil, evil))),
            callback(&CallbackView {
                code: evil,
                tokens: Err(evil),
                id_claims: None,
                logout_url: evil,
                again_url: evil,
            }),
        ];
        for page in pages {
            assert!(!page.contains("<script>"), "{page}");
            assert!(page.contains("&lt;script&gt;"), "{page}");
        }
    }
}
