//! `example-kv certs`: a development CA and the certificates `serve` and
//! `load` need, made with rcgen, so the README's commands work on a machine
//! without openssl. For development and tests only: the CA's key is thrown
//! away, and nothing here is fit to guard real data.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// Makes a development CA (`ca.pem`), a server certificate for `--names`,
/// `localhost` and `127.0.0.1` (`server.pem`, `server.key`) and a client
/// certificate (`client.pem`, `client.key`), as PEM files in `--out`. For
/// development and tests only.
#[derive(Debug, clap::Args)]
pub(crate) struct CertsArgs {
    /// The directory to write the files into (made when missing).
    #[arg(long)]
    out: PathBuf,
    /// The servers' host names, comma-separated (`kv-a.test,kv-b.test`).
    #[arg(long, value_delimiter = ',', required = true)]
    names: Vec<String>,
    /// The name the client certificate is issued for.
    #[arg(long, default_value = "kv-client")]
    client_name: String,
}

/// What `certs` writes, and for whom.
const FILES: [(&str, &str); 5] = [
    ("ca.pem", "the CA both sides trust"),
    ("server.pem", "the servers' certificate"),
    ("server.key", "its private key"),
    ("client.pem", "the client's certificate"),
    ("client.key", "its private key"),
];

/// Writes the five files and names each.
pub(crate) fn certs(args: CertsArgs) -> Result<(), Box<dyn std::error::Error>> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "example-kv development CA");
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;

    let mut names = args.names;
    for always in ["localhost", "127.0.0.1"] {
        if !names.iter().any(|name| name == always) {
            names.push(always.to_owned());
        }
    }
    let (server, server_key) = issue(&ca, names.clone())?;
    let (client, client_key) = issue(&ca, vec![args.client_name.clone()])?;

    fs::create_dir_all(&args.out).map_err(|error| format!("{}: {error}", args.out.display()))?;
    let contents = [ca.pem(), server, server_key, client, client_key];
    for ((file, what), content) in FILES.into_iter().zip(contents) {
        let path = args.out.join(file);
        write(&path, &content, file.ends_with(".key"))?;
        println!("wrote {} ({what})", path.display());
    }
    println!(
        "server certificate for {}; client certificate for {}; for development only",
        names.join(", "),
        args.client_name
    );
    Ok(())
}

/// A certificate for `names` that `ca` issued, and its key, both as PEM.
fn issue(
    ca: &CertifiedIssuer<'static, KeyPair>,
    names: Vec<String>,
) -> Result<(String, String), rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(names.clone())?;
    params
        .distinguished_name
        .push(DnType::CommonName, &names[0]);
    let certificate = params.signed_by(&key, ca)?;
    Ok((certificate.pem(), key.serialize_pem()))
}

/// Writes `content` to `path`; a private key readable by its owner only.
fn write(path: &Path, content: &str, private: bool) -> Result<(), String> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    options
        .open(path)
        .and_then(|mut file| file.write_all(content.as_bytes()))
        .map_err(|error| format!("{}: {error}", path.display()))
}
