//! Printable pages (a route sheet, a campaign plan): server-rendered HTML with its own strict
//! Content-Security-Policy — no scripts at all, styles inline — so that it prints and saves as
//! it is, wherever it is opened.

use actix_web::HttpResponse;

/// The page's policy: nothing but its own inline styles.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// Answers with `html` as a printable page.
pub fn page(html: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", CSP))
        .body(html)
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn html_escapes_markup_in_names() {
        assert_eq!(
            esc("<b>\"老王\" & 'Co'</b>"),
            "&lt;b&gt;&quot;老王&quot; &amp; &#39;Co&#39;&lt;/b&gt;"
        );
    }
}
