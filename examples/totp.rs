//! `totp`: a small oathtool-like command over mfa-kit's core.
//!
//! ```text
//! totp code   --secret B32 [--algorithm sha1|sha256|sha512] [--digits N] [--period S] [--time UNIX]
//! totp hotp   --secret B32 --counter N [--algorithm ..] [--digits N]
//! totp verify --secret B32 --code C [--window N] [--time UNIX] [--algorithm ..] [--digits N] [--period S]
//! totp uri make  --issuer I --account A [--secret B32] [--algorithm ..] [--digits N] [--period S]
//! totp uri parse URI
//! ```
//!
//! Exit codes: 0 done (or code accepted), 1 code rejected, 2 bad input.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::io::Write;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use mfa_kit::otp::uri::{KeyUri, OtpKind};
use mfa_kit::otp::{Algorithm, Digits, Hotp, Secret, Totp, TotpParams, Verification, Window};

const USAGE: &str =
    "usage: totp code|hotp|verify|uri make|uri parse [options] (see the source for the options)";

/// Bad input: the one-line message printed on stderr before exiting with 2.
struct BadInput(String);

impl<E: Display> From<E> for BadInput {
    fn from(error: E) -> Self {
        BadInput(error.to_string())
    }
}

fn main() -> ExitCode {
    let result = arguments().and_then(|args| run(&args));
    let (line, status) = match result {
        Ok(Outcome::Done(line)) => (line, ExitCode::SUCCESS),
        Ok(Outcome::Rejected) => ("rejected".to_string(), ExitCode::from(1)),
        Err(BadInput(message)) => {
            eprintln!("totp: {message}");
            return ExitCode::from(2);
        }
    };
    // A reader that went away (`totp code … | true`) has nothing left to be told: the
    // exit status still says what happened. Any other failure to write is reported.
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => status,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => status,
        Err(error) => {
            eprintln!("totp: cannot write the output: {error}");
            ExitCode::from(2)
        }
    }
}

/// The arguments after the program's name; one that is not UTF-8 is bad input.
fn arguments() -> Result<Vec<String>, BadInput> {
    std::env::args_os()
        .skip(1)
        .enumerate()
        .map(|(index, arg)| {
            arg.into_string().map_err(|_| BadInput(format!("argument {} is not valid UTF-8", index + 1)))
        })
        .collect()
}

enum Outcome {
    Done(String),
    Rejected,
}

fn run(args: &[String]) -> Result<Outcome, BadInput> {
    match args {
        [command, rest @ ..] if command == "code" => {
            code(&Options::parse(rest, &["secret", "algorithm", "digits", "period", "time"])?)
        }
        [command, rest @ ..] if command == "hotp" => {
            hotp(&Options::parse(rest, &["secret", "counter", "algorithm", "digits"])?)
        }
        [command, rest @ ..] if command == "verify" => verify(&Options::parse(
            rest,
            &["secret", "code", "window", "time", "algorithm", "digits", "period"],
        )?),
        [uri, make, rest @ ..] if uri == "uri" && make == "make" => uri_make(&Options::parse(
            rest,
            &["issuer", "account", "secret", "algorithm", "digits", "period"],
        )?),
        [uri, parse, text] if uri == "uri" && parse == "parse" => uri_parse(text),
        [uri, parse, ..] if uri == "uri" && parse == "parse" => {
            Err(BadInput("uri parse takes exactly one URI".into()))
        }
        _ => Err(BadInput(USAGE.into())),
    }
}

/// An argument where an option was expected. It is named only when it looks like an
/// option (`--` and a lower-case word): anything else may be a secret or a code given
/// without its option, which an error never repeats.
fn unknown(place: usize, argument: &str) -> BadInput {
    let looks_like_option = argument.strip_prefix("--").is_some_and(|name| {
        (1..=20).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
    });
    if looks_like_option {
        BadInput(format!("unknown option {argument}"))
    } else {
        BadInput(format!(
            "argument {} after the command is not an option: each option starts with -- and is followed by its value (such as --secret B32)",
            place + 1
        ))
    }
}

/// `--name value` pairs, each known and given at most once.
struct Options(BTreeMap<String, String>);

impl Options {
    fn parse(args: &[String], known: &[&str]) -> Result<Options, BadInput> {
        let mut found = BTreeMap::new();
        let mut rest = args.iter().enumerate();
        while let Some((place, flag)) = rest.next() {
            let name = flag
                .strip_prefix("--")
                .filter(|name| known.contains(name))
                .ok_or_else(|| unknown(place, flag))?;
            let Some((_, value)) = rest.next() else {
                return Err(BadInput(format!("--{name} needs a value")));
            };
            if found.insert(name.to_string(), value.clone()).is_some() {
                return Err(BadInput(format!("--{name} is given twice")));
            }
        }
        Ok(Options(found))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn required(&self, name: &str) -> Result<&str, BadInput> {
        self.get(name).ok_or_else(|| BadInput(format!("--{name} is required")))
    }

    fn number(&self, name: &str) -> Result<Option<u64>, BadInput> {
        self.get(name)
            .map(|text| {
                text.parse::<u64>()
                    .map_err(|_| BadInput(format!("--{name} must be a whole number of 0 or more")))
            })
            .transpose()
    }

    fn secret(&self) -> Result<Secret, BadInput> {
        Ok(Secret::from_base32(self.required("secret")?)?)
    }

    fn algorithm(&self) -> Result<Algorithm, BadInput> {
        Ok(self.get("algorithm").map(str::parse).transpose()?.unwrap_or_default())
    }

    fn digits(&self) -> Result<Digits, BadInput> {
        Ok(self.number("digits")?.map(Digits::new).transpose()?.unwrap_or_default())
    }

    fn totp_params(&self) -> Result<TotpParams, BadInput> {
        let params = TotpParams::DEFAULT
            .with_algorithm(self.algorithm()?)
            .with_digits(u64::from(self.digits()?.get()))?;
        Ok(match self.number("period")? {
            Some(period) => params.with_period(period)?,
            None => params,
        })
    }

    fn time(&self) -> Result<u64, BadInput> {
        match self.number("time")? {
            Some(time) => Ok(time),
            None => Ok(SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_err(|_| "the system clock is before 1970")?
                .as_secs()),
        }
    }
}

fn code(options: &Options) -> Result<Outcome, BadInput> {
    let totp = Totp::new(&options.secret()?, options.totp_params()?);
    Ok(Outcome::Done(totp.generate(options.time()?)?.to_string()))
}

fn hotp(options: &Options) -> Result<Outcome, BadInput> {
    let counter = options.number("counter")?.ok_or_else(|| BadInput("--counter is required".into()))?;
    let hotp = Hotp::new(&options.secret()?, options.algorithm()?, options.digits()?);
    Ok(Outcome::Done(hotp.generate(counter).to_string()))
}

fn verify(options: &Options) -> Result<Outcome, BadInput> {
    let totp = Totp::new(&options.secret()?, options.totp_params()?);
    let code = totp.parse_code(options.required("code")?)?;
    let window = match options.number("window")? {
        Some(steps) => Window::symmetric(u8::try_from(steps).map_err(|_| "--window must be at most 255")?),
        None => Window::ONE,
    };
    Ok(match totp.verify(&code, options.time()?, window, None)? {
        Verification::Accepted(found) => Outcome::Done(found.drift.to_string()),
        Verification::Replayed(_) | Verification::Wrong => Outcome::Rejected,
    })
}

fn uri_make(options: &Options) -> Result<Outcome, BadInput> {
    let secret = match options.get("secret") {
        Some(_) => options.secret()?,
        None => Secret::generate()?,
    };
    // The issuer is required: a blank one would vanish from the URI without a word.
    let issuer = options.required("issuer")?;
    if issuer.trim().is_empty() {
        return Err(BadInput("--issuer must not be empty".into()));
    }
    let uri = KeyUri::totp(issuer, options.required("account")?, secret, options.totp_params()?)?;
    Ok(Outcome::Done(uri.to_uri().to_string()))
}

fn uri_parse(text: &str) -> Result<Outcome, BadInput> {
    let uri = KeyUri::parse(text)?;
    let (kind, period, counter) = match uri.kind() {
        OtpKind::Totp { period } => ("totp", Some(period), None),
        OtpKind::Hotp { counter } => ("hotp", None, Some(counter)),
    };
    let json = serde_json::json!({
        "type": kind,
        "issuer": uri.issuer(),
        "account": uri.account(),
        "secret": uri.secret().to_base32().as_str(),
        "algorithm": uri.algorithm().uri_name(),
        "digits": uri.digits().get(),
        "period": period,
        "counter": counter,
    });
    Ok(Outcome::Done(json.to_string()))
}
