//! The table of error codes in `docs/protocol.md` is generated from
//! [`rodando_wire::codes::ErrorCode`], so a code, status or meaning changed in the code cannot
//! leave the client guide behind. `UPDATE_DOCS=1 cargo test -p rodando-wire --test error_codes`
//! rewrites the table from the code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rodando_wire::codes::ErrorCode;

const PROTOCOL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md");
const ASYNCAPI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/asyncapi.yaml");
const BEGIN: &str = "<!-- error-codes -->\n";
const END: &str = "<!-- /error-codes -->";

/// The markdown table, one row per code in [`ErrorCode::ALL`] order.
fn table() -> String {
    let mut out = String::from("| code | HTTP | when |\n|---|---|---|\n");
    for code in ErrorCode::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            code.as_str(),
            code.http_status().as_u16(),
            code.when()
        ));
    }
    out
}

#[test]
fn the_guide_lists_exactly_the_codes_of_the_enum() {
    let text = std::fs::read_to_string(PROTOCOL).expect("docs/protocol.md is readable");
    let start = text
        .find(BEGIN)
        .expect("protocol.md has the error-codes marker")
        + BEGIN.len();
    let end = start
        + text[start..]
            .find(END)
            .expect("the error-codes block is closed");
    let expected = table();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let updated = format!("{}{expected}{}", &text[..start], &text[end..]);
        std::fs::write(PROTOCOL, updated).unwrap();
        return;
    }
    assert_eq!(
        &text[start..end],
        expected,
        "docs/protocol.md's table of error codes is stale: run \
         UPDATE_DOCS=1 cargo test -p rodando-wire --test error_codes"
    );
}

#[test]
fn no_retired_code_is_named_in_the_docs() {
    // Names the codes had before both transports shared one vocabulary.
    for doc in [PROTOCOL, ASYNCAPI] {
        let text = std::fs::read_to_string(doc).unwrap();
        for line in text.lines().filter(|l| l.contains("invalid_transition")) {
            assert!(
                line.contains("now `invalid_trip_transition`")
                    || line.contains("was `invalid_transition`"),
                "{doc} still names invalid_transition: {line}"
            );
        }
    }
}
