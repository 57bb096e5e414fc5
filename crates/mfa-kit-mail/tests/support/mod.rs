//! The real SMTP server the tests deliver to (maildev, started by `.ci/services`), the
//! API that reads delivered messages back, and scripted misbehaving servers.
#![allow(dead_code)] // Each test file uses a different part.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mail_parser::{Message, MessageParser};
use mfa_kit_mail::{Letterhead, Mailbox, Mailer, SmtpConfig, TlsMode};

/// The domain of every test address and `Message-ID`.
pub const DOMAIN: &str = "mail-test.example";

fn smtp_port() -> u16 {
    std::env::var("MFA_KIT_SMTP_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(1025)
}

fn api_port() -> u16 {
    std::env::var("MFA_KIT_MAILDEV_API_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(1080)
}

/// Fails the test, saying how to start the server, when maildev is not reachable.
pub fn require_server() {
    for (what, port) in [("SMTP", smtp_port()), ("maildev API", api_port())] {
        if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).is_err() {
            panic!(
                "no {what} server on 127.0.0.1:{port}: these tests deliver to a real SMTP server and read \
                 the messages back from maildev. Run `.ci/services` (it installs and starts maildev), then \
                 run the tests again."
            );
        }
    }
}

/// An address no other test (or run) uses.
pub fn unique(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{tag}-{}-{nanos}-{}@{DOMAIN}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

pub fn mailbox(address: &str) -> Mailbox {
    address.parse().unwrap()
}

pub fn letterhead() -> Letterhead {
    let from: Mailbox = "Smith & Co Security <security@smith.example>".parse().unwrap();
    Letterhead::new("Smith & Co Accounting", from, DOMAIN)
        .help("Call us on 1300 000 000 if you need help.")
        .security_url("https://smith.example/settings/security?tab=mfa&x=1")
}

/// A mailer to the real server (after checking it is up).
pub fn mailer() -> Mailer {
    require_server();
    mailer_to(smtp_port(), TlsMode::None, Duration::from_secs(10))
}

/// A mailer to `127.0.0.1:port` that gives up on a message after `send`.
pub fn mailer_to(port: u16, tls: TlsMode, send: Duration) -> Mailer {
    mailer_timed(port, tls, Duration::from_secs(2), send)
}

/// A mailer to `127.0.0.1:port` that gives up connecting after `connect` and on a
/// message after `send`.
pub fn mailer_timed(port: u16, tls: TlsMode, connect: Duration, send: Duration) -> Mailer {
    let config = SmtpConfig::new("127.0.0.1", port, tls).timeouts(connect, send);
    Mailer::new(config, letterhead()).unwrap()
}

/// One GET to the maildev API on `port`, as HTTP/1.0 (no chunking): the body.
fn get_at(port: u16, path: &str) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("maildev's API is reachable");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP response");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    assert!(head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"), "GET {path}: {head}");
    response[split + 4..].to_vec()
}

/// The raw messages delivered to `recipient` (by the envelope), oldest first, once at
/// least `count` have arrived (waiting up to 10 s).
pub fn delivered_to(recipient: &str, count: usize) -> Vec<Vec<u8>> {
    delivered_at(api_port(), recipient, count)
}

/// [`delivered_to`] for the maildev whose API is on `port`.
pub fn delivered_at(port: u16, recipient: &str, count: usize) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ids = ids_for(port, recipient);
        if ids.len() >= count || Instant::now() > deadline {
            return ids.iter().map(|id| get_at(port, &format!("/api/email/{id}/source"))).collect();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// How many messages have been delivered to `recipient` so far.
pub fn count_to(recipient: &str) -> usize {
    ids_for(api_port(), recipient).len()
}

fn ids_for(port: u16, recipient: &str) -> Vec<String> {
    let all: serde_json::Value =
        serde_json::from_slice(&get_at(port, "/api/email")).expect("maildev lists e-mail as JSON");
    all.as_array()
        .expect("a list")
        .iter()
        .filter(|email| {
            email["envelope"]["to"]
                .as_array()
                .is_some_and(|to| to.iter().any(|t| t["address"].as_str() == Some(recipient)))
        })
        .map(|email| email["id"].as_str().expect("an id").to_string())
        .collect()
}

pub fn parse(raw: &[u8]) -> Message<'_> {
    MessageParser::default().parse(raw).expect("a parsable message")
}

/// The one address of each mailbox in an address header.
pub fn addresses(header: Option<&mail_parser::Address<'_>>) -> Vec<String> {
    header
        .map(|a| a.iter().filter_map(|addr| addr.address().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// What a scripted server says when a client connects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Greeting {
    /// `220`: ready.
    Ready,
    /// `554` and nothing else; holds the connection open, answering nothing.
    Refuse,
    /// Not a word; holds the connection open, reading whatever comes.
    Silent,
}

/// Which recipients a scripted server refuses (`550 5.1.1`, as a server that checks
/// recipients does for an address that no longer exists).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipients {
    /// Takes every recipient.
    TakesAll,
    /// Refuses every recipient.
    RefusesAll,
    /// Refuses each `RCPT` whose line contains this text, takes the others.
    Refuses(&'static str),
}

/// How a scripted server answers a message's body (its final `.`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyReply {
    /// With this line.
    Says(&'static str),
    /// Refuses it with 554, echoing the body's lines of digits (as a content filter might).
    RefuseEchoing,
    /// Refuses it with 554 naming the first link in it (read decoded, quoted-printable
    /// undone), as a spam filter does for a URL on a block list.
    RefuseCitingLink,
    /// Closes the connection without a word.
    Close,
}

/// How a scripted SMTP server behaves: [`Script::taking`] is a well-behaved server
/// that takes every message (it never offers STARTTLS); each field changes one thing.
#[derive(Clone, Copy, Debug)]
pub struct Script {
    /// What it says when a client connects.
    pub greeting: Greeting,
    /// Whether `EHLO` offers `AUTH PLAIN LOGIN` (then `AUTH` is answered `235`).
    pub offer_auth: bool,
    /// Which recipients it refuses.
    pub recipients: Recipients,
    /// How it answers a message's body.
    pub body_reply: BodyReply,
    /// How long to wait before answering the body.
    pub body_delay: Duration,
    /// Whether `QUIT` is answered (`221`); if not, the connection is held open, silent,
    /// until the client closes it.
    pub answers_quit: bool,
}

impl Script {
    /// A server that takes every recipient and every message, at once.
    pub fn taking() -> Script {
        Script {
            greeting: Greeting::Ready,
            offer_auth: false,
            recipients: Recipients::TakesAll,
            body_reply: BodyReply::Says("250 2.0.0 queued"),
            body_delay: Duration::ZERO,
            answers_quit: true,
        }
    }
}

/// The ways of misbehaving the delivery tests name, each a [`Script`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Answers the greeting with 554 and nothing else.
    RefuseGreeting,
    /// Takes the greeting and the sender, refuses every recipient with 550.
    RefuseRecipient,
    /// Takes everything up to the body, then refuses it with 554, echoing the body.
    RefuseBodyEchoing,
    /// Takes everything up to the body, then refuses it with 554 naming the first link
    /// in it, as a spam filter does for a URL on a block list.
    RefuseBodyCitingLink,
    /// Accepts connections and never says a word.
    Silent,
    /// A well-behaved server that does not offer STARTTLS and would take the message.
    NoStartTls,
}

impl From<Misbehaviour> for Script {
    fn from(misbehaviour: Misbehaviour) -> Script {
        let taking = Script::taking();
        match misbehaviour {
            Misbehaviour::RefuseGreeting => Script { greeting: Greeting::Refuse, ..taking },
            Misbehaviour::RefuseRecipient => Script { recipients: Recipients::RefusesAll, ..taking },
            Misbehaviour::RefuseBodyEchoing => Script { body_reply: BodyReply::RefuseEchoing, ..taking },
            Misbehaviour::RefuseBodyCitingLink => {
                Script { body_reply: BodyReply::RefuseCitingLink, ..taking }
            }
            Misbehaviour::Silent => Script { greeting: Greeting::Silent, ..taking },
            Misbehaviour::NoStartTls => taking,
        }
    }
}

/// A scripted SMTP server on a loopback port, in a thread: what it heard (commands,
/// and each body as `DATA <body>`), the recipients it took for each body, and how
/// many connections it took.
pub struct Scripted {
    pub port: u16,
    pub heard: Arc<Mutex<Vec<String>>>,
    /// The `RCPT` lines it took for each body it heard, in order.
    pub taken: Arc<Mutex<Vec<Vec<String>>>>,
    pub connections: Arc<AtomicU64>,
}

impl Scripted {
    /// Starts a server that behaves as `script` (a [`Script`] or a [`Misbehaviour`]).
    pub fn start(script: impl Into<Script>) -> Scripted {
        let script = script.into();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let heard = Arc::new(Mutex::new(Vec::new()));
        let taken = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicU64::new(0));
        let (h, t, c) = (heard.clone(), taken.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                c.fetch_add(1, Ordering::SeqCst);
                let (h, t) = (h.clone(), t.clone());
                std::thread::spawn(move || serve(stream, script, &h, &t));
            }
        });
        Scripted { port, heard, taken, connections }
    }

    pub fn heard(&self) -> Vec<String> {
        self.heard.lock().unwrap().clone()
    }

    /// The bodies it heard, dot-unstuffed, lines ending in CRLF.
    pub fn bodies(&self) -> Vec<String> {
        self.heard().into_iter().filter_map(|l| l.strip_prefix("DATA ").map(str::to_string)).collect()
    }

    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream, script: Script, heard: &Mutex<Vec<String>>, taken: &Mutex<Vec<Vec<String>>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut say = |line: &str| {
        let _ = writer.write_all(format!("{line}\r\n").as_bytes());
        let _ = writer.flush();
    };
    let hold_open = |reader: &mut BufReader<TcpStream>| {
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    };
    match script.greeting {
        Greeting::Ready => say("220 mail.example ESMTP scripted"),
        Greeting::Refuse => {
            say("554 5.3.2 mail.example does not take mail now");
            return hold_open(&mut reader);
        }
        Greeting::Silent => return hold_open(&mut reader),
    }
    let (mut in_data, mut data, mut line) = (false, String::new(), String::new());
    let mut accepted = Vec::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = line.trim_end_matches(['\r', '\n']).to_string();
        if in_data {
            if text == "." {
                in_data = false;
                let body = std::mem::take(&mut data);
                heard.lock().unwrap().push(format!("DATA {body}"));
                taken.lock().unwrap().push(std::mem::take(&mut accepted));
                std::thread::sleep(script.body_delay);
                match script.body_reply {
                    BodyReply::Says(reply) => say(reply),
                    BodyReply::RefuseEchoing => {
                        // What a content filter might quote back: the lines of digits.
                        let echo: String = body
                            .lines()
                            .filter(|l| !l.trim().is_empty() && l.trim().chars().all(|c| c.is_ascii_digit()))
                            .collect::<Vec<_>>()
                            .join(" | ")
                            .chars()
                            .filter(|c| !c.is_control())
                            .take(400)
                            .collect();
                        say(&format!("554 5.7.1 content rejected: {echo}"));
                    }
                    BodyReply::RefuseCitingLink => {
                        // A filter reads the body decoded (quoted-printable here).
                        let decoded = quoted_printable_decoded(&body);
                        let link: String = decoded
                            .split_whitespace()
                            .find(|word| word.starts_with("https://"))
                            .unwrap_or("")
                            .chars()
                            .take(200)
                            .collect();
                        say(&format!("554 5.7.1 message rejected: URL {link} is on a block list"));
                    }
                    BodyReply::Close => return, // closes the connection, no reply
                }
            } else {
                data.push_str(text.strip_prefix('.').unwrap_or(&text));
                data.push_str("\r\n");
            }
            continue;
        }
        heard.lock().unwrap().push(text.clone());
        let verb = text.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let refused = match script.recipients {
            Recipients::TakesAll => false,
            Recipients::RefusesAll => true,
            Recipients::Refuses(part) => text.contains(part),
        };
        match verb.as_str() {
            "EHLO" => {
                say("250-mail.example");
                if script.offer_auth {
                    say("250-AUTH PLAIN LOGIN");
                }
                say("250-8BITMIME");
                say("250 SIZE 10000000");
            }
            "HELO" => say("250 mail.example"),
            "MAIL" => say("250 2.1.0 ok"),
            "RCPT" if refused => say("550 5.1.1 no such user here"),
            "RCPT" => {
                accepted.push(text.clone());
                say("250 2.1.5 ok");
            }
            "AUTH" if script.offer_auth => say("235 2.7.0 authenticated"),
            "DATA" => {
                in_data = true;
                say("354 go ahead");
            }
            "RSET" => {
                accepted.clear();
                say("250 ok");
            }
            "NOOP" => say("250 ok"),
            "QUIT" if script.answers_quit => {
                say("221 bye");
                return;
            }
            "QUIT" => return hold_open(&mut reader),
            _ => say("502 5.5.2 not implemented"),
        }
    }
}

/// Quoted-printable text decoded: soft line breaks joined, `=XX` escapes undone.
fn quoted_printable_decoded(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = joined.get(i + 1..i + 3).filter(|_| bytes[i] == b'=');
        if let Some(Ok(byte)) = escaped.map(|hex| u8::from_str_radix(hex, 16)) {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
