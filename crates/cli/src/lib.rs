//! `zonecast` client subcommands: zones, RRsets, records, TSIG keys and API keys
//! over the management HTTP API (design.md "HTTP API").
//!
//! Every command is one or a few blocking HTTP requests; nothing is done
//! locally besides reading zone files and formatting answers. Human tables by
//! default, the API's own JSON with `--json`. Exit codes: 0 success, 1 the API
//! refused the request (its error code, field and message go to stderr),
//! 2 bad usage, unreadable file or unreachable API.
//!
//! `zonecast check` ([`check`]) is the exception: it asks the zone's
//! nameservers over DNS and has exit codes of its own.
//!
//! Not implemented: `https://` API URLs (no TLS in this client), RFC 2136
//! UPDATE.

#![warn(missing_docs)]

pub mod check;
pub mod client;
pub mod error;
pub mod format;

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, FromArgMatches, Parser, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};

use crate::client::{encode_segment as seg, Body, Client, Reply};
pub use crate::error::CliError;

/// Default API base URL.
pub const DEFAULT_API: &str = "http://127.0.0.1:8053";

/// TTL of a new RRset set without `--ttl` (the API's default for new records too).
pub const DEFAULT_TTL: u32 = 3600;

/// Global client options; flatten into the binary's top-level parser.
#[derive(Args, Debug, Clone, PartialEq)]
pub struct ClientArgs {
    /// Base URL of the management API.
    #[arg(long, env = "ZONECAST_API", default_value = DEFAULT_API, global = true)]
    pub api: String,
    /// Bearer token for the API.
    #[arg(
        long,
        env = "ZONECAST_API_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Ids of the [`ClientArgs`] options in a `clap` command.
const CLIENT_ARG_IDS: [&str; 3] = ["api", "token", "json"];

/// Adds the client options ([`ClientArgs`]) to a binary's top-level `cmd`
/// for the client command groups only.
///
/// Each group of [`ClientCommand`] (`zone`, `rrset`, ...) takes them, global
/// within the group so they may stand after any of its subcommands; `cmd`
/// itself takes them too (`zonecast --json zone show`) without passing them
/// on. `cmd`'s other subcommands (`serve`) neither take them nor list them in
/// their help. Read the result with [`client_args_from`].
pub fn with_client_args(cmd: clap::Command) -> clap::Command {
    let groups: Vec<String> = ClientCommand::augment_subcommands(clap::Command::new("groups"))
        .get_subcommands()
        .map(|g| g.get_name().to_string())
        .collect();
    let mut cmd = cmd;
    for g in &groups {
        cmd = cmd.mut_subcommand(g, add_client_args);
    }
    add_client_args(cmd).mut_args(|a| {
        if CLIENT_ARG_IDS.contains(&a.get_id().as_str()) {
            a.global(false)
        } else {
            a
        }
    })
}

/// `cmd` with the [`ClientArgs`] options, keeping its own description
/// (`augment_args` would replace it with the struct's).
fn add_client_args(cmd: clap::Command) -> clap::Command {
    let about = cmd.get_about().cloned();
    let long_about = cmd.get_long_about().cloned();
    let keep = |t: Option<clap::builder::StyledStr>| {
        t.map_or(
            clap::builder::Resettable::Reset,
            clap::builder::Resettable::Value,
        )
    };
    ClientArgs::augment_args(cmd)
        .about(keep(about))
        .long_about(keep(long_about))
}

/// The client options of a parse of a command built by [`with_client_args`]:
/// an option given after the group wins over one given before it, `--json`
/// anywhere counts, and the environment and defaults apply otherwise.
pub fn client_args_from(matches: &clap::ArgMatches) -> Result<ClientArgs, clap::Error> {
    let top = ClientArgs::from_arg_matches(matches)?;
    let Some((_, group)) = matches.subcommand() else {
        return Ok(top);
    };
    if !matches!(group.try_contains_id("api"), Ok(true)) {
        return Ok(top);
    }
    let after = ClientArgs::from_arg_matches(group)?;
    let typed = |m: &clap::ArgMatches, id: &str| {
        m.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
    };
    let before_wins = |id: &str| typed(matches, id) && !typed(group, id);
    Ok(ClientArgs {
        api: if before_wins("api") {
            top.api
        } else {
            after.api
        },
        token: if before_wins("token") {
            top.token
        } else {
            after.token
        },
        json: top.json || after.json,
    })
}

/// The client options typed before the subcommand (`--json` in `zonecast --json serve`),
/// for refusing them where the subcommand is not a client command.
pub fn client_flags_typed(matches: &clap::ArgMatches) -> Vec<&'static str> {
    CLIENT_ARG_IDS
        .into_iter()
        .filter(|id| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
        .collect()
}

/// Standalone parser for the client commands (`zonecast-cli`-style usage and tests).
#[derive(Parser, Debug)]
#[command(name = "zonecast", about = "zonecast management client")]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub args: ClientArgs,
    /// The command.
    #[command(subcommand)]
    pub command: ClientCommand,
}

/// The client command groups.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum ClientCommand {
    /// Zones: list, create, show, status, update, delete, import and export zone files.
    #[command(subcommand)]
    Zone(ZoneCommand),
    /// RRsets: get, replace, apply several at once, delete.
    #[command(subcommand)]
    Rrset(RrsetCommand),
    /// Single records with ids: add, update, list, delete.
    #[command(subcommand)]
    Record(RecordCommand),
    /// TSIG keys: create, list, delete.
    #[command(subcommand)]
    Tsig(TsigCommand),
    /// API keys: create, list, delete.
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// Edges following the store (cluster mode): position, lag, serials, last seen, DNS addresses.
    Edges,
    /// Ask every nameserver of a zone for its SOA and compare the serials.
    ///
    /// Without --server: the addresses of the zone's apex NS names, the
    /// primaries of a secondary zone and the edges' DNS addresses, found
    /// through the API. Exit 0 when all answered authoritatively with the
    /// same serial, 1 when the serials differ, 2 when a server did not
    /// answer or answered wrongly (or no server could be found).
    Check(check::CheckArgs),
}

/// Zone kind for `zone create`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Edited here.
    Primary,
    /// Copied from external primaries.
    Secondary,
}

/// SOA serial policy for `zone create`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerialPolicy {
    /// YYYYMMDDnn.
    Date,
    /// +1 per change.
    Increment,
    /// Unix time.
    Unixtime,
}

/// `zonecast zone ...`.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum ZoneCommand {
    /// List zones.
    List {
        /// Only zones whose name contains this text.
        #[arg(long)]
        name: Option<String>,
    },
    /// Create a zone (primary from a zone file, or empty with a default SOA).
    Create {
        /// Zone name, e.g. example.com.
        zone: String,
        /// Zone kind.
        #[arg(long, value_enum, default_value = "primary")]
        kind: Kind,
        /// Zone file with the initial contents (primary only).
        #[arg(long)]
        file: Option<PathBuf>,
        /// Primary server ADDR:PORT to transfer from (secondary; repeatable).
        #[arg(long = "primary")]
        primaries: Vec<String>,
        /// TSIG key name used for transfers.
        #[arg(long)]
        tsig_key: Option<String>,
        /// Server ADDR:PORT to send NOTIFY to (repeatable).
        #[arg(long)]
        notify: Vec<String>,
        /// Prefix or `key:NAME` allowed to transfer the zone (repeatable).
        #[arg(long)]
        allow_transfer: Vec<String>,
        /// SOA serial policy.
        #[arg(long, value_enum)]
        serial_policy: Option<SerialPolicy>,
    },
    /// Change a zone's settings; lists given replace the stored ones.
    Update {
        /// Zone name.
        zone: String,
        /// SOA serial policy.
        #[arg(long, value_enum)]
        serial_policy: Option<SerialPolicy>,
        /// Primary server ADDR:PORT (repeatable; replaces the list).
        #[arg(long = "primary")]
        primaries: Vec<String>,
        /// TSIG key name used for transfers.
        #[arg(long, conflicts_with = "no_tsig_key")]
        tsig_key: Option<String>,
        /// Remove the zone's TSIG key.
        #[arg(long)]
        no_tsig_key: bool,
        /// NOTIFY target ADDR:PORT (repeatable; replaces the list).
        #[arg(long, conflicts_with = "no_notify")]
        notify: Vec<String>,
        /// Send no NOTIFY.
        #[arg(long)]
        no_notify: bool,
        /// Transfer ACL entry (repeatable; replaces the list).
        #[arg(long, conflicts_with = "no_allow_transfer")]
        allow_transfer: Vec<String>,
        /// Allow no transfers.
        #[arg(long)]
        no_allow_transfer: bool,
    },
    /// Show a zone's details and status.
    Show {
        /// Zone name.
        zone: String,
    },
    /// Show a zone's status: stored and served serial, record count, last change, and for a secondary zone its refresh state.
    Status {
        /// Zone name.
        zone: String,
    },
    /// Secondary zone: ask its primaries for the SOA now, and transfer when theirs is newer.
    Refresh {
        /// Zone name.
        zone: String,
    },
    /// Secondary zone: take a full AXFR from its primaries now, whatever the serials.
    Retransfer {
        /// Zone name.
        zone: String,
    },
    /// Delete a zone and all its records.
    Delete {
        /// Zone name.
        zone: String,
        /// Apply only if the zone's serial is still this (HTTP If-Match).
        #[arg(long, value_name = "SERIAL")]
        if_serial: Option<u32>,
    },
    /// Replace a zone's whole contents with a zone file, atomically.
    Import {
        /// Zone name.
        zone: String,
        /// Zone file (`-` for standard input).
        file: PathBuf,
        /// Apply only if the zone's serial is still this (HTTP If-Match).
        #[arg(long, value_name = "SERIAL")]
        if_serial: Option<u32>,
    },
    /// Print a zone as a zone file.
    Export {
        /// Zone name.
        zone: String,
    },
}

/// `zonecast rrset ...`.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum RrsetCommand {
    /// Show RRsets, optionally only one owner name and/or type.
    Get {
        /// Zone name.
        zone: String,
        /// Owner name: relative, `@` for the apex, or absolute with a trailing dot.
        name: Option<String>,
        /// Record type, e.g. A.
        #[arg(value_name = "TYPE")]
        rtype: Option<String>,
    },
    /// Replace an RRset with the given records (one argument per record).
    Set {
        /// Zone name.
        zone: String,
        /// Owner name: relative, `@` for the apex, or absolute with a trailing dot.
        name: String,
        /// Record type, e.g. A.
        #[arg(value_name = "TYPE")]
        rtype: String,
        /// Record data in presentation format; quote data with spaces ("10 mail").
        #[arg(required = true, value_name = "RDATA")]
        records: Vec<String>,
        /// TTL in seconds (default: the existing RRset's TTL, else 3600).
        #[arg(long)]
        ttl: Option<u32>,
        /// Apply only if the zone's serial is still this (HTTP If-Match).
        #[arg(long, value_name = "SERIAL")]
        if_serial: Option<u32>,
    },
    /// Apply several RRset changes from a JSON file as one transaction (one serial bump).
    Apply {
        /// Zone name.
        zone: String,
        /// JSON file of RRset changes.
        #[arg(help = APPLY_HELP)]
        file: PathBuf,
        /// Apply only if the zone's serial is still this (HTTP If-Match).
        #[arg(long, value_name = "SERIAL")]
        if_serial: Option<u32>,
    },
    /// Delete an RRset.
    Delete {
        /// Zone name.
        zone: String,
        /// Owner name.
        name: String,
        /// Record type.
        #[arg(value_name = "TYPE")]
        rtype: String,
        /// Apply only if the zone's serial is still this (HTTP If-Match).
        #[arg(long, value_name = "SERIAL")]
        if_serial: Option<u32>,
    },
}

/// `zonecast rrset apply` file: `[{"name", "type", "ttl", "records"}, ...]` or `{"changes": [...]}`.
const APPLY_HELP: &str = "JSON file of RRset changes (`-` for standard input): \
[{\"name\": \"www\", \"type\": \"A\", \"ttl\": 300, \"records\": [\"192.0.2.1\"]}, ...]; \
empty or absent records delete the RRset";

/// `zonecast record ...`.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum RecordCommand {
    /// Add one record; the words of RDATA are joined with spaces.
    Add {
        /// Zone name.
        zone: String,
        /// Owner name: relative, `@` for the apex, or absolute with a trailing dot.
        name: String,
        /// Record type, e.g. A.
        #[arg(value_name = "TYPE")]
        rtype: String,
        /// Record data in presentation format, e.g. `10 mail.example.com.`.
        #[arg(required = true, num_args = 1.., value_name = "RDATA")]
        content: Vec<String>,
        /// TTL in seconds (default: the existing RRset's TTL, else 3600).
        #[arg(long)]
        ttl: Option<u32>,
        /// Apply only if the zone's serial is still this (HTTP If-Match).
        #[arg(long, value_name = "SERIAL")]
        if_serial: Option<u32>,
    },
    /// Replace one record (by id); its id changes when its content does.
    Update {
        /// Zone name.
        zone: String,
        /// Record id (from `record list`).
        id: i64,
        /// Owner name.
        name: String,
        /// Record type.
        #[arg(value_name = "TYPE")]
        rtype: String,
        /// Record data in presentation format; the words are joined with spaces.
        #[arg(required = true, num_args = 1.., value_name = "RDATA")]
        content: Vec<String>,
        /// TTL in seconds (default: the RRset's TTL, else 3600).
        #[arg(long)]
        ttl: Option<u32>,
        /// Apply only if the zone's serial is still this (HTTP If-Match).
        #[arg(long, value_name = "SERIAL")]
        if_serial: Option<u32>,
    },
    /// List records with their ids.
    List {
        /// Zone name.
        zone: String,
        /// Only this owner name.
        #[arg(long)]
        name: Option<String>,
        /// Only this type.
        #[arg(long = "type", value_name = "TYPE")]
        rtype: Option<String>,
    },
    /// Delete one record by id.
    Delete {
        /// Zone name.
        zone: String,
        /// Record id (from `record list`).
        id: i64,
        /// Apply only if the zone's serial is still this (HTTP If-Match).
        #[arg(long, value_name = "SERIAL")]
        if_serial: Option<u32>,
    },
}

/// `zonecast tsig ...`.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum TsigCommand {
    /// Create a TSIG key; the secret is generated when not given and shown once.
    Create {
        /// Key name, e.g. transfer-key.
        name: String,
        /// hmac-sha256 (default), hmac-sha1, hmac-sha224, hmac-sha384, hmac-sha512, or hmac-md5 (old peers only).
        #[arg(long)]
        algorithm: Option<String>,
        /// Secret, base64.
        #[arg(long)]
        secret: Option<String>,
    },
    /// List TSIG keys (without secrets).
    List,
    /// Delete a TSIG key (refused while a zone uses it).
    Delete {
        /// Key name.
        name: String,
    },
}

/// `zonecast apikey ...`.
#[derive(Subcommand, Debug, Clone, PartialEq)]
pub enum ApikeyCommand {
    /// Create an API key; its token is shown once.
    Create {
        /// Key name, e.g. ci.
        name: String,
        /// Scope (repeatable): zones:read, zones:write, records:read, records:write, tsig:write, admin.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Limit the key to this zone (repeatable; all zones when absent).
        #[arg(long = "zone")]
        zones: Vec<String>,
    },
    /// List API keys (without tokens).
    List,
    /// Delete an API key.
    Delete {
        /// Key name.
        name: String,
    },
}

/// What a command prints on success.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Output {
    /// Text for standard output.
    pub stdout: String,
    /// Notes for standard error (e.g. "the secret is shown only once").
    pub stderr: String,
}

impl Output {
    fn out(s: impl Into<String>) -> Output {
        Output {
            stdout: s.into(),
            stderr: String::new(),
        }
    }
}

/// Runs one client command, prints its output and returns the exit code.
pub fn run(cmd: ClientCommand, api: &str, token: Option<&str>, json: bool) -> i32 {
    if let ClientCommand::Check(args) = &cmd {
        return check::run(args, api, token, json);
    }
    match execute(cmd, api, token, json) {
        Ok(out) => {
            let mut so = std::io::stdout().lock();
            let mut se = std::io::stderr().lock();
            // A closed stdout (e.g. `| head`) is not an error worth reporting.
            let _ = so.write_all(out.stdout.as_bytes());
            let _ = so.flush();
            let _ = se.write_all(out.stderr.as_bytes());
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// Runs one client command and returns what it would print.
///
/// For `check` this is the report's output whatever its exit code; use
/// [`check::check`] for the exit code.
pub fn execute(
    cmd: ClientCommand,
    api: &str,
    token: Option<&str>,
    json: bool,
) -> Result<Output, CliError> {
    if let ClientCommand::Check(args) = &cmd {
        return Ok(check::check(args, api, token)?.output(json));
    }
    let client = Client::new(api, token)?;
    match cmd {
        ClientCommand::Zone(c) => zone(&client, c, json),
        ClientCommand::Rrset(c) => rrset(&client, c, json),
        ClientCommand::Record(c) => record(&client, c, json),
        ClientCommand::Tsig(c) => tsig(&client, c, json),
        ClientCommand::Apikey(c) => apikey(&client, c, json),
        ClientCommand::Edges => {
            let reply = client.send("GET", "/v1/edges", &[], Body::None)?;
            Ok(show(reply, json, format::edges_table))
        }
        ClientCommand::Check(_) => unreachable!("handled above"),
    }
}

fn read_file(path: &PathBuf) -> Result<String, CliError> {
    let res = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map(|_| s)
    } else {
        std::fs::read_to_string(path)
    };
    res.map_err(|source| CliError::File {
        path: path.clone(),
        source,
    })
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    s.push('\n');
    s
}

/// Output of a reply: JSON pretty-printed in `--json` mode, else `human(value)`.
fn show(reply: Reply, json: bool, human: impl FnOnce(&Value) -> String) -> Output {
    match reply {
        Reply::Json(v) if json => Output::out(pretty(&v)),
        Reply::Json(v) => Output::out(human(&v)),
        Reply::Text(t) => Output::out(if t.ends_with('\n') { t } else { t + "\n" }),
        Reply::Empty => Output::default(),
    }
}

/// Output of a reply to a delete: JSON as is, or a confirmation line
/// (with the serial change when the API reports one).
fn done(reply: Reply, json: bool, what: String) -> Output {
    match reply {
        Reply::Json(v) if json => Output::out(pretty(&v)),
        _ if json => Output::default(),
        Reply::Json(v) if v.get("serial_to").is_some() => Output::out(format!(
            "{what} (serial {} -> {})\n",
            format::text(&v, "serial_from"),
            format::text(&v, "serial_to")
        )),
        _ => Output::out(format!("{what}\n")),
    }
}

/// Largest page asked for when listing zones.
const ZONE_PAGE: usize = 1000;

/// All zones, following the API's `next` cursor; returns `{"zones": [...]}`.
fn all_zones(c: &Client, name: Option<&str>) -> Result<Value, CliError> {
    let mut zones = Vec::new();
    let mut after: Option<String> = None;
    let limit = ZONE_PAGE.to_string();
    loop {
        let mut query = vec![("limit", limit.as_str())];
        if let Some(n) = name {
            query.push(("name", n));
        }
        if let Some(a) = after.as_deref() {
            query.push(("after", a));
        }
        let page = match c.send("GET", "/v1/zones", &query, Body::None)? {
            Reply::Json(v) => v,
            other => {
                return Err(CliError::Connection {
                    url: String::new(),
                    message: format!("unexpected answer to GET /v1/zones: {other:?}"),
                })
            }
        };
        let items = format::list_of(&page);
        let next = page.get("next").and_then(Value::as_str).map(str::to_string);
        let progressed = !items.is_empty();
        zones.extend(items);
        match next {
            // Stop on a repeated cursor too, so a confused server cannot loop us forever.
            Some(n) if progressed && after.as_deref() != Some(n.as_str()) => after = Some(n),
            _ => break,
        }
    }
    Ok(json!({ "zones": zones }))
}

/// The TTL of an existing RRset, or `None` when there is none.
fn current_ttl(c: &Client, path: &str) -> Result<Option<u32>, CliError> {
    match c.send("GET", path, &[], Body::None) {
        Ok(Reply::Json(v)) => Ok(v
            .get("ttl")
            .and_then(Value::as_u64)
            .and_then(|t| u32::try_from(t).ok())),
        Ok(_) => Ok(None),
        Err(CliError::Api { status: 404, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn policy_text(p: SerialPolicy) -> &'static str {
    match p {
        SerialPolicy::Date => "date",
        SerialPolicy::Increment => "increment",
        SerialPolicy::Unixtime => "unixtime",
    }
}

fn record_body(name: String, rtype: &str, content: &[String], ttl: Option<u32>) -> Value {
    let mut body = Map::new();
    body.insert("name".into(), json!(name));
    body.insert("type".into(), json!(rtype.to_uppercase()));
    body.insert("content".into(), json!(content.join(" ")));
    if let Some(t) = ttl {
        body.insert("ttl".into(), json!(t));
    }
    Value::Object(body)
}

fn zone(c: &Client, cmd: ZoneCommand, json: bool) -> Result<Output, CliError> {
    match cmd {
        ZoneCommand::List { name } => {
            let all = all_zones(c, name.as_deref())?;
            Ok(show(Reply::Json(all), json, format::zones_table))
        }
        ZoneCommand::Create {
            zone,
            kind,
            file,
            primaries,
            tsig_key,
            notify,
            allow_transfer,
            serial_policy,
        } => {
            let mut body = Map::new();
            body.insert("name".into(), json!(zone));
            body.insert(
                "kind".into(),
                json!(match kind {
                    Kind::Primary => "primary",
                    Kind::Secondary => "secondary",
                }),
            );
            if let Some(path) = &file {
                body.insert("zonefile".into(), json!(read_file(path)?));
            }
            if !primaries.is_empty() {
                body.insert("primaries".into(), json!(primaries));
            }
            if let Some(k) = tsig_key {
                body.insert("tsig_key".into(), json!(k));
            }
            if !notify.is_empty() {
                body.insert("notify".into(), json!(notify));
            }
            if !allow_transfer.is_empty() {
                body.insert("allow_transfer".into(), json!(allow_transfer));
            }
            if let Some(p) = serial_policy {
                body.insert("serial_policy".into(), json!(policy_text(p)));
            }
            let reply = c.send("POST", "/v1/zones", &[], Body::Json(Value::Object(body)))?;
            Ok(show(reply, json, format::key_values))
        }
        ZoneCommand::Update {
            zone,
            serial_policy,
            primaries,
            tsig_key,
            no_tsig_key,
            notify,
            no_notify,
            allow_transfer,
            no_allow_transfer,
        } => {
            let mut body = Map::new();
            if let Some(p) = serial_policy {
                body.insert("serial_policy".into(), json!(policy_text(p)));
            }
            if !primaries.is_empty() {
                body.insert("primaries".into(), json!(primaries));
            }
            if let Some(k) = tsig_key {
                body.insert("tsig_key".into(), json!(k));
            } else if no_tsig_key {
                body.insert("tsig_key".into(), Value::Null);
            }
            if !notify.is_empty() || no_notify {
                body.insert("notify".into(), json!(notify));
            }
            if !allow_transfer.is_empty() || no_allow_transfer {
                body.insert("allow_transfer".into(), json!(allow_transfer));
            }
            if body.is_empty() {
                return Err(CliError::Usage(
                    "zone update: nothing to change (see --help)".into(),
                ));
            }
            let reply = c.send(
                "PATCH",
                &format!("/v1/zones/{}", seg(&zone)),
                &[],
                Body::Json(Value::Object(body)),
            )?;
            Ok(show(reply, json, format::key_values))
        }
        ZoneCommand::Status { zone } => {
            let reply = c.send(
                "GET",
                &format!("/v1/zones/{}/status", seg(&zone)),
                &[],
                Body::None,
            )?;
            Ok(show(reply, json, format::zone_status))
        }
        ZoneCommand::Refresh { zone } => secondary_action(c, &zone, "refresh", json),
        ZoneCommand::Retransfer { zone } => secondary_action(c, &zone, "retransfer", json),
        ZoneCommand::Show { zone } => {
            let reply = c.send("GET", &format!("/v1/zones/{}", seg(&zone)), &[], Body::None)?;
            Ok(show(reply, json, format::key_values))
        }
        ZoneCommand::Delete { zone, if_serial } => {
            let reply = c.send_if(
                "DELETE",
                &format!("/v1/zones/{}", seg(&zone)),
                &[],
                Body::None,
                if_serial,
            )?;
            Ok(done(reply, json, format!("deleted zone {zone}")))
        }
        ZoneCommand::Import {
            zone,
            file,
            if_serial,
        } => {
            let text = read_file(&file)?;
            let reply = c.send_if(
                "PUT",
                &format!("/v1/zones/{}/zonefile", seg(&zone)),
                &[],
                Body::Text(text),
                if_serial,
            )?;
            Ok(show(reply, json, format::applied))
        }
        ZoneCommand::Export { zone } => {
            let reply = c.send(
                "GET",
                &format!("/v1/zones/{}/zonefile", seg(&zone)),
                &[],
                Body::None,
            )?;
            Ok(match reply {
                Reply::Json(v) if json => Output::out(pretty(&v)),
                Reply::Json(v) => match v.get("zonefile").and_then(Value::as_str) {
                    Some(t) => Output::out(t.to_string()),
                    None => Output::out(pretty(&v)),
                },
                Reply::Text(t) if json => {
                    Output::out(pretty(&json!({"zone": zone, "zonefile": t})))
                }
                Reply::Text(t) => Output::out(t),
                Reply::Empty => Output::default(),
            })
        }
    }
}

/// `zone refresh|retransfer`: `POST /v1/zones/{zone}/{action}`, and what was queued.
fn secondary_action(c: &Client, zone: &str, action: &str, json: bool) -> Result<Output, CliError> {
    let reply = c.send(
        "POST",
        &format!("/v1/zones/{}/{action}", seg(zone)),
        &[],
        Body::None,
    )?;
    Ok(show(reply, json, |v| {
        let zone = match v.get("zone").and_then(Value::as_str) {
            Some(z) => z.to_string(),
            None => absolute("@", zone),
        };
        let what = match format::text(v, "action").as_str() {
            "retransfer" => "full transfer (AXFR)",
            _ => "refresh (SOA check)",
        };
        let queued = v.get("queued").and_then(Value::as_bool).unwrap_or(true);
        format!(
            "{what} of {zone} {}; follow it with `zonecast zone status {zone}`\n",
            if queued { "queued" } else { "not queued" }
        )
    }))
}

fn rrset(c: &Client, cmd: RrsetCommand, json: bool) -> Result<Output, CliError> {
    match cmd {
        RrsetCommand::Get { zone, name, rtype } => {
            let mut query = Vec::new();
            if let Some(n) = name.as_deref() {
                query.push(("name", n));
            }
            if let Some(t) = rtype.as_deref() {
                query.push(("type", t));
            }
            let reply = c.send(
                "GET",
                &format!("/v1/zones/{}/rrsets", seg(&zone)),
                &query,
                Body::None,
            )?;
            Ok(show(reply, json, format::rrsets_table))
        }
        RrsetCommand::Set {
            zone,
            name,
            rtype,
            records,
            ttl,
            if_serial,
        } => {
            let path = rrset_path(&zone, &name, &rtype);
            let ttl = match ttl {
                Some(t) => t,
                None => current_ttl(c, &path)?.unwrap_or(DEFAULT_TTL),
            };
            let body = json!({"ttl": ttl, "records": records});
            let reply = c.send_if("PUT", &path, &[], Body::Json(body), if_serial)?;
            Ok(show(reply, json, format::applied))
        }
        RrsetCommand::Apply {
            zone,
            file,
            if_serial,
        } => {
            let text = read_file(&file)?;
            let changes: Value = serde_json::from_str(&text)
                .map_err(|e| CliError::Usage(format!("{} is not JSON: {e}", file.display())))?;
            let body = match changes {
                Value::Array(_) => json!({ "changes": changes }),
                other => other,
            };
            let reply = c.send_if(
                "PATCH",
                &format!("/v1/zones/{}/rrsets", seg(&zone)),
                &[],
                Body::Json(body),
                if_serial,
            )?;
            Ok(show(reply, json, format::applied))
        }
        RrsetCommand::Delete {
            zone,
            name,
            rtype,
            if_serial,
        } => {
            let reply = c.send_if(
                "DELETE",
                &rrset_path(&zone, &name, &rtype),
                &[],
                Body::None,
                if_serial,
            )?;
            Ok(done(
                reply,
                json,
                format!("deleted {name} {} in {zone}", rtype.to_uppercase()),
            ))
        }
    }
}

fn rrset_path(zone: &str, name: &str, rtype: &str) -> String {
    format!(
        "/v1/zones/{}/rrsets/{}/{}",
        seg(zone),
        seg(name),
        seg(&rtype.to_uppercase())
    )
}

/// Owner name as an absolute lowercase name, for client-side filtering.
fn absolute(name: &str, zone: &str) -> String {
    let zone = zone.trim_end_matches('.').to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    if name == "@" || name.is_empty() {
        format!("{zone}.")
    } else if name.ends_with('.') {
        name
    } else {
        format!("{name}.{zone}.")
    }
}

/// Creates (POST) or replaces (PUT) one record in `zone` and shows the API's
/// answer as a table, followed by the zone's serial change in the form of
/// `rrset set` ([`format::applied`]).
///
/// The API answers a record write with the record only, so the serial change
/// is taken from the answer when it carries `serial_from`/`serial_to`, else
/// from the zone's SOA read before the write (or `--if-serial`, which the
/// write then had to match) and after it. Under concurrent writers the two
/// reads may span their changes too. When the SOA cannot be read, only the
/// table is printed. `--json` prints the API's answer alone, as always.
fn write_record(
    c: &Client,
    zone: &str,
    method: &str,
    path: &str,
    body: serde_json::Value,
    if_serial: Option<u32>,
    json: bool,
) -> Result<Output, CliError> {
    let before = if json {
        None
    } else {
        if_serial.or_else(|| zone_serial(c, zone))
    };
    let reply = c.send_if(method, path, &[], Body::Json(body), if_serial)?;
    let reported = match &reply {
        Reply::Json(v) if v.get("serial_to").is_some() => Some(v.clone()),
        _ => None,
    };
    let mut out = show(reply, json, |v| {
        format::records_table(std::slice::from_ref(v))
    });
    if json {
        return Ok(out);
    }
    let change = match (reported, before) {
        (Some(v), _) => Some(json!({
            "zone": absolute("@", zone),
            "serial_from": v.get("serial_from").cloned().unwrap_or(Value::Null),
            "serial_to": v["serial_to"].clone(),
        })),
        (None, Some(from)) => zone_serial(c, zone)
            .map(|to| json!({"zone": absolute("@", zone), "serial_from": from, "serial_to": to})),
        (None, None) => None,
    };
    if let Some(change) = change {
        out.stdout.push_str(&format::applied(&change));
    }
    Ok(out)
}

/// The serial in the zone's SOA record (`GET .../rrsets/@/SOA`, readable with
/// `records:read`, which `records:write` implies), or `None` when it cannot be read.
fn zone_serial(c: &Client, zone: &str) -> Option<u32> {
    let Ok(Reply::Json(v)) = c.send("GET", &rrset_path(zone, "@", "SOA"), &[], Body::None) else {
        return None;
    };
    // MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM (RFC 1035 §3.3.13).
    v.get("records")?
        .as_array()?
        .first()?
        .as_str()?
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

fn record(c: &Client, cmd: RecordCommand, json: bool) -> Result<Output, CliError> {
    match cmd {
        RecordCommand::Add {
            zone,
            name,
            rtype,
            content,
            ttl,
            if_serial,
        } => {
            let path = format!("/v1/zones/{}/records", seg(&zone));
            let body = record_body(name, &rtype, &content, ttl);
            write_record(c, &zone, "POST", &path, body, if_serial, json)
        }
        RecordCommand::Update {
            zone,
            id,
            name,
            rtype,
            content,
            ttl,
            if_serial,
        } => {
            let path = format!("/v1/zones/{}/records/{id}", seg(&zone));
            let body = record_body(name, &rtype, &content, ttl);
            write_record(c, &zone, "PUT", &path, body, if_serial, json)
        }
        RecordCommand::List { zone, name, rtype } => {
            let mut query = Vec::new();
            if let Some(n) = name.as_deref() {
                query.push(("name", n));
            }
            if let Some(t) = rtype.as_deref() {
                query.push(("type", t));
            }
            let reply = c.send(
                "GET",
                &format!("/v1/zones/{}/records", seg(&zone)),
                &query,
                Body::None,
            )?;
            let want_name = name.as_deref().map(|n| absolute(n, &zone));
            let want_type = rtype.as_deref().map(str::to_ascii_uppercase);
            Ok(show(reply, json, |v| {
                // Filter here too, so the listing is right whatever the server does with the query.
                let rows: Vec<Value> = format::list_of(v)
                    .into_iter()
                    .filter(|r| {
                        want_name
                            .as_ref()
                            .is_none_or(|w| *w == absolute(&format::text(r, "name"), &zone))
                            && want_type
                                .as_ref()
                                .is_none_or(|w| *w == format::text(r, "type").to_ascii_uppercase())
                    })
                    .collect();
                format::records_table(&rows)
            }))
        }
        RecordCommand::Delete {
            zone,
            id,
            if_serial,
        } => {
            let reply = c.send_if(
                "DELETE",
                &format!("/v1/zones/{}/records/{id}", seg(&zone)),
                &[],
                Body::None,
                if_serial,
            )?;
            Ok(done(reply, json, format!("deleted record {id} in {zone}")))
        }
    }
}

fn tsig(c: &Client, cmd: TsigCommand, json: bool) -> Result<Output, CliError> {
    match cmd {
        TsigCommand::Create {
            name,
            algorithm,
            secret,
        } => {
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            if let Some(a) = algorithm {
                body.insert("algorithm".into(), json!(a));
            }
            if let Some(s) = secret {
                body.insert("secret".into(), json!(s));
            }
            let reply = c.send(
                "POST",
                "/v1/tsig-keys",
                &[],
                Body::Json(Value::Object(body)),
            )?;
            let mut out = show(reply, json, tsig_created);
            if !json {
                out.stderr = "note: the secret is shown only this once\n".into();
            }
            Ok(out)
        }
        TsigCommand::List => {
            let reply = c.send("GET", "/v1/tsig-keys", &[], Body::None)?;
            Ok(show(reply, json, format::tsig_table))
        }
        TsigCommand::Delete { name } => {
            let reply = c.send(
                "DELETE",
                &format!("/v1/tsig-keys/{}", seg(&name)),
                &[],
                Body::None,
            )?;
            Ok(done(reply, json, format!("deleted TSIG key {name}")))
        }
    }
}

/// A created TSIG key as a BIND/Knot-style `key` clause, ready to paste.
fn tsig_created(v: &Value) -> String {
    format!(
        "key \"{}\" {{\n\talgorithm {};\n\tsecret \"{}\";\n}};\n",
        format::text(v, "name"),
        format::text(v, "algorithm"),
        format::text(v, "secret")
    )
}

fn apikey(c: &Client, cmd: ApikeyCommand, json: bool) -> Result<Output, CliError> {
    match cmd {
        ApikeyCommand::Create {
            name,
            scopes,
            zones,
        } => {
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            body.insert("scopes".into(), json!(scopes));
            if !zones.is_empty() {
                body.insert("zones".into(), json!(zones));
            }
            let reply = c.send("POST", "/v1/api-keys", &[], Body::Json(Value::Object(body)))?;
            let mut out = show(reply, json, |v| format!("{}\n", format::text(v, "token")));
            if !json {
                out.stderr =
                    format!("note: token for API key {name}; it is shown only this once\n");
            }
            Ok(out)
        }
        ApikeyCommand::List => {
            let reply = c.send("GET", "/v1/api-keys", &[], Body::None)?;
            Ok(show(reply, json, format::apikeys_table))
        }
        ApikeyCommand::Delete { name } => {
            let reply = c.send(
                "DELETE",
                &format!("/v1/api-keys/{}", seg(&name)),
                &[],
                Body::None,
            )?;
            Ok(done(reply, json, format!("deleted API key {name}")))
        }
    }
}

#[cfg(test)]
mod tests;
