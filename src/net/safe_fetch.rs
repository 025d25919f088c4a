//! Fetch a shop's public product feed URL without letting the URL reach inside
//! our network (SSRF).
//!
//! A shop owner types a URL and our server fetches it. Without care, that URL
//! could point at the cloud metadata service, a database on the private
//! network, or `localhost`. This module refuses all of those:
//!
//! * [`parse_target`] checks the URL itself (scheme, user info, port, host
//!   names, and numeric IPv4 spellings such as `2130706433` or `0x7f000001`,
//!   which we decode ourselves the way `inet_aton` does).
//! * [`fetch`] resolves the name once through a [`Resolver`], refuses if *any*
//!   address is not public ([`check_ip`]), and then pins the connection to the
//!   checked addresses, so a second DNS answer (DNS rebinding) cannot swap in a
//!   private address between the check and the connection.
//! * Redirects are followed by hand, at most [`MAX_REDIRECTS`], only to the
//!   same host, and every hop is checked again.
//! * The body is read in chunks and abandoned past the size cap.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Name, Resolve, Resolving};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};

/// Largest feed we accept in production, so one shop cannot exhaust memory.
pub const MAX_FEED_BYTES: usize = 5 * 1024 * 1024;

/// Total time budget for one fetch (all redirects and the body included).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Time budget for establishing one TCP/TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How many same-host redirects we follow before giving up.
pub const MAX_REDIRECTS: usize = 3;

const USER_AGENT: &str = concat!("BikriAgent-FeedFetcher/", env!("CARGO_PKG_VERSION"));

/// Why a feed could not be fetched. Each message is written for a shop owner
/// and says what to do; internal details are logged, never shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The text is not a URL at all.
    #[error("That doesn't look like a web address. Paste the full feed address, starting with https://.")]
    InvalidUrl,
    /// Scheme is not https (or http in development).
    #[error("The feed address must start with https://.")]
    NotHttps,
    /// The URL carries `user@` or `user:password@`; feeds must be public.
    #[error("Remove the user name or password from the address; the feed must be publicly readable.")]
    Credentials,
    /// A port other than the standard web port.
    #[error("The feed must be served on the standard web port; remove \":{0}\" from the address.")]
    ForbiddenPort(u16),
    /// A host name that only exists inside networks (`localhost`, `*.internal`, ...).
    #[error("That address names a server inside a private network; use your shop's public feed URL.")]
    ForbiddenHost(String),
    /// The host is, or resolves to, a non-public address.
    #[error("That address points inside a private network; use your shop's public feed URL.")]
    ForbiddenAddress(IpAddr),
    /// DNS gave no usable answer.
    #[error("We couldn't find that website. Check the address for typos.")]
    ResolveFailed,
    /// The connection could not be established.
    #[error("We couldn't connect to that website. Check the address, or try again later.")]
    Unreachable,
    /// Any other transport failure (TLS, protocol, connection reset, ...).
    #[error("The connection to that website failed. Try again later.")]
    Network,
    /// The whole fetch took longer than the time budget.
    #[error("The website took too long to answer. Try again later.")]
    Timeout,
    /// The body (or its announced Content-Length) is over the cap.
    #[error("The feed is larger than 5 MiB.")]
    TooLarge,
    /// A redirect pointed at a different host.
    #[error("The site redirected to another website; use the final address.")]
    RedirectToOtherHost,
    /// More than [`MAX_REDIRECTS`] redirects.
    #[error("The site redirected too many times; use the final address of the feed.")]
    TooManyRedirects,
    /// A redirect without a usable `Location`.
    #[error("The site sent a broken redirect; use the final address of the feed.")]
    BadRedirect,
    /// The server answered with a non-2xx status.
    #[error("The website answered with HTTP status {0} instead of the feed.")]
    Status(u16),
}

/// What a fetch is allowed to do. Built only through [`FetchPolicy::production`]
/// or [`FetchPolicy::development`] outside tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Accept `http://` URLs and port 80. Development only: production feeds must be https.
    pub allow_http: bool,
    /// Accept loopback addresses (and, for loopback only, any port). ONLY for tests that fetch
    /// from a local test server on an ephemeral port; never set from configuration.
    pub allow_loopback: bool,
    /// Body size cap in bytes ([`MAX_FEED_BYTES`] in production).
    pub max_bytes: usize,
    /// Total time budget for the fetch ([`FETCH_TIMEOUT`] in production).
    pub timeout: Duration,
}

impl FetchPolicy {
    /// https only, 5 MiB, 10 s: what real shops get.
    #[must_use]
    pub fn production() -> Self {
        Self {
            allow_http: false,
            allow_loopback: false,
            max_bytes: MAX_FEED_BYTES,
            timeout: FETCH_TIMEOUT,
        }
    }

    /// Like production but also accepts plain http (for local feeds during development).
    /// Private and loopback addresses stay refused.
    #[must_use]
    pub fn development() -> Self {
        Self {
            allow_http: true,
            ..Self::production()
        }
    }
}

/// A successfully fetched feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The URL the body came from, after same-host redirects.
    pub final_url: String,
    /// The `Content-Type` header, if any and if it was valid text.
    pub content_type: Option<String>,
    /// The body, at most `max_bytes` long.
    pub body: Vec<u8>,
}

/// A URL that passed the static checks of [`parse_target`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The normalised URL that will be requested.
    pub url: Url,
    /// The host as it appears in the normalised URL (lowercase; IPv6 in brackets).
    pub host: String,
    /// The effective port (443 / 80 when the URL gives none).
    pub port: u16,
    /// `Some` when the host is an IP literal (already checked); `None` for names,
    /// which still have to be resolved and checked.
    pub ip: Option<IpAddr>,
}

/// Name resolution used by [`fetch`], injectable so tests can play `/etc/hosts`
/// without touching real DNS.
pub trait Resolver: Send + Sync {
    /// All addresses `host` resolves to. Every one of them is checked; the
    /// connection is then pinned to them.
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>>;
}

/// The operating system's resolver (`getaddrinfo` via tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host, port)).await?;
            Ok(addrs.map(|addr| addr.ip()).collect())
        })
    }
}

/// A fixed name → addresses table, for tests (the "/etc/hosts" injection).
/// Unknown names fail with `NotFound`.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver(pub HashMap<String, Vec<IpAddr>>);

impl StaticResolver {
    /// Adds (or replaces) one entry; names are matched case-insensitively.
    #[must_use]
    pub fn with(mut self, host: &str, addrs: &[IpAddr]) -> Self {
        self.0.insert(host.to_ascii_lowercase(), addrs.to_vec());
        self
    }
}

impl Resolver for StaticResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>> {
        let found = self.0.get(&host.to_ascii_lowercase()).cloned();
        Box::pin(async move { found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no static entry")) })
    }
}

/// Refuses every non-public address: the pure core of the SSRF protection,
/// exposed so other callers (webhooks, image fetchers) can reuse it.
///
/// Refused: loopback, private, link-local, unique-local, CGNAT, multicast,
/// unspecified, broadcast, documentation/benchmark/reserved ranges, cloud
/// metadata addresses, and every IPv6 form that wraps an IPv4 address
/// (mapped, compatible, NAT64, 6to4) when the wrapped address is refused.
/// For IPv6, only global unicast (`2000::/3`) is accepted at all.
///
/// # Errors
///
/// [`FetchError::ForbiddenAddress`] carrying `ip`.
pub fn check_ip(ip: IpAddr) -> Result<(), FetchError> {
    let forbidden = match ip {
        IpAddr::V4(v4) => v4_forbidden(v4),
        IpAddr::V6(v6) => v6_forbidden(v6),
    };
    if forbidden {
        Err(FetchError::ForbiddenAddress(ip))
    } else {
        Ok(())
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> u32 {
    Ipv4Addr::new(a, b, c, d).to_bits()
}

/// IPv4 prefixes that are never a shop's public feed server.
const FORBIDDEN_V4: &[(u32, u32)] = &[
    (v4(0, 0, 0, 0), 8),       // "this network", incl. unspecified
    (v4(10, 0, 0, 0), 8),      // private
    (v4(100, 64, 0, 0), 10),   // CGNAT (also Alibaba metadata 100.100.100.200)
    (v4(127, 0, 0, 0), 8),     // loopback
    (v4(169, 254, 0, 0), 16),  // link-local, incl. cloud metadata 169.254.169.254
    (v4(172, 16, 0, 0), 12),   // private
    (v4(192, 0, 0, 0), 24),    // IETF protocol assignments
    (v4(192, 0, 2, 0), 24),    // TEST-NET-1
    (v4(192, 88, 99, 0), 24),  // deprecated 6to4 relay anycast
    (v4(192, 168, 0, 0), 16),  // private
    (v4(198, 18, 0, 0), 15),   // benchmarking
    (v4(198, 51, 100, 0), 24), // TEST-NET-2
    (v4(203, 0, 113, 0), 24),  // TEST-NET-3
    (v4(224, 0, 0, 0), 4),     // multicast
    (v4(240, 0, 0, 0), 4),     // reserved, incl. broadcast 255.255.255.255
];

fn in_prefix_v4(addr: u32, base: u32, len: u32) -> bool {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    addr & mask == base & mask
}

fn in_prefix_v6(addr: u128, base: u128, len: u32) -> bool {
    let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
    addr & mask == base & mask
}

fn v4_forbidden(ip: Ipv4Addr) -> bool {
    let bits = ip.to_bits();
    FORBIDDEN_V4.iter().any(|&(base, len)| in_prefix_v4(bits, base, len))
}

const fn v6(segments: [u16; 8]) -> u128 {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Addr::new(a, b, c, d, e, f, g, h).to_bits()
}

/// Prefixes inside global unicast `2000::/3` that are still not public servers.
const FORBIDDEN_V6_IN_GLOBAL: &[(u128, u32)] = &[
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 23), // IETF protocol assignments, incl. Teredo 2001::/32
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]), 32), // documentation
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]), 20), // documentation (RFC 9637)
];

/// The IPv4 address an IPv6 address stands for, for the forms that make the
/// network deliver to that IPv4 address: IPv4-mapped `::ffff:0:0/96`, NAT64
/// `64:ff9b::/96` and 6to4 `2002::/16`.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = ip.to_bits();
    if let Some(mapped) = ip.to_ipv4_mapped() {
        return Some(mapped);
    }
    if in_prefix_v6(bits, v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96) {
        return Some(Ipv4Addr::from_bits(low_32(bits)));
    }
    if in_prefix_v6(bits, v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16) {
        return Some(Ipv4Addr::from_bits(low_32(bits >> 80)));
    }
    None
}

fn low_32(bits: u128) -> u32 {
    u32::try_from(bits & u128::from(u32::MAX)).unwrap_or(u32::MAX)
}

fn v6_forbidden(ip: Ipv6Addr) -> bool {
    if let Some(inner) = embedded_v4(ip) {
        return v4_forbidden(inner);
    }
    let bits = ip.to_bits();
    // Everything outside global unicast is refused: ::, ::1, IPv4-compatible ::/96,
    // discard 100::/64, unique-local fc00::/7 (incl. fd00:ec2::254), link-local
    // fe80::/10, site-local fec0::/10, multicast ff00::/8, local NAT64 64:ff9b:1::/48, ...
    if !in_prefix_v6(bits, v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3) {
        return true;
    }
    FORBIDDEN_V6_IN_GLOBAL
        .iter()
        .any(|&(base, len)| in_prefix_v6(bits, base, len))
}

/// Name suffixes that only resolve inside private networks.
const FORBIDDEN_NAME_SUFFIXES: &[&str] = &["localhost", "internal", "local", "localdomain", "home.arpa"];

/// Whether a host name must be refused without asking DNS. Single-label names
/// (`metadata`, `db`) are refused too: they are resolved through local search
/// domains, and no public feed lives on one.
fn is_forbidden_name(host: &str) -> bool {
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    if name.is_empty() || !name.contains('.') {
        return true;
    }
    name == "metadata.google.internal"
        || FORBIDDEN_NAME_SUFFIXES
            .iter()
            .any(|suffix| name == *suffix || name.strip_suffix(suffix).is_some_and(|rest| rest.ends_with('.')))
}

/// Parses a host the way `inet_aton` (and the WHATWG URL standard) does: one to
/// four dot-separated parts, each decimal, `0x` hex or `0`-prefixed octal, the
/// last part filling the remaining bytes. `127.1`, `2130706433`, `0x7f000001`
/// and `0177.0.0.1` all mean 127.0.0.1. A single trailing dot is allowed.
#[must_use]
pub fn parse_ipv4_loose(host: &str) -> Option<Ipv4Addr> {
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() {
        return None;
    }
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut numbers = Vec::with_capacity(parts.len());
    for part in &parts {
        numbers.push(parse_ipv4_part(part)?);
    }
    let (&last, leading) = numbers.split_last()?;
    if leading.iter().any(|&n| n > 255) {
        return None;
    }
    let last_bits = 8 * (5 - u32::try_from(numbers.len()).ok()?);
    if last_bits < 64 && last >= (1u64 << last_bits) {
        return None;
    }
    let mut value = last;
    for (i, &n) in leading.iter().enumerate() {
        value |= n << (24 - 8 * u32::try_from(i).ok()?);
    }
    Some(Ipv4Addr::from_bits(u32::try_from(value).ok()?))
}

fn parse_ipv4_part(part: &str) -> Option<u64> {
    let (digits, radix) = if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
        (hex, 16)
    } else if part.len() > 1 && part.starts_with('0') {
        (&part[1..], 8)
    } else {
        (part, 10)
    };
    if digits.is_empty() {
        // "0x" alone is 0 for WHATWG; an empty part ("1..2") is not a number.
        return (radix == 16).then_some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Whether the last label looks numeric; such hosts must parse as IPv4 or be refused
/// (the WHATWG "ends in a number" rule), so `1.2.3.99999999999` never reaches DNS.
fn ends_in_number(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let last = host.rsplit('.').next().unwrap_or(host);
    if last.is_empty() {
        return false;
    }
    if let Some(hex) = last.strip_prefix("0x").or_else(|| last.strip_prefix("0X")) {
        return hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    last.chars().all(|c| c.is_ascii_digit())
}

/// The authority (`user@host:port`) exactly as typed, before any normalisation,
/// so we can see an empty `@` and numeric spellings the URL parser rewrites.
fn raw_authority(input: &str) -> Option<&str> {
    let (_, rest) = input.split_once(':')?;
    let rest = rest.trim_start_matches(['/', '\\']);
    let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end])
}

fn allowed_for(ip: IpAddr, policy: &FetchPolicy) -> Result<(), FetchError> {
    if policy.allow_loopback && ip.to_canonical().is_loopback() {
        return Ok(());
    }
    check_ip(ip)
}

fn is_standard_port(port: u16, policy: &FetchPolicy) -> bool {
    port == 443 || (policy.allow_http && port == 80)
}

/// The static checks on a feed URL, before any network access: scheme
/// (https, or http when `policy.allow_http`), no user info, host names that
/// only exist internally, IP literals in every spelling, and the port (443, or
/// 80 with `allow_http`; any port only with the test-only `allow_loopback`,
/// which [`fetch`] then restricts to loopback addresses).
///
/// # Errors
///
/// The [`FetchError`] describing the first problem found.
pub fn parse_target(url: &str, policy: &FetchPolicy) -> Result<Target, FetchError> {
    let input = url.trim();
    let parsed = Url::parse(input).map_err(|_| FetchError::InvalidUrl)?;
    match parsed.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        _ => return Err(FetchError::NotHttps),
    }
    let raw = raw_authority(input).ok_or(FetchError::InvalidUrl)?;
    if raw.contains('@') || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(FetchError::Credentials);
    }

    // Our own reading of the host as typed: catches numeric spellings even if
    // the URL parser ever stopped normalising them.
    if !raw.starts_with('[') {
        let raw_host = raw.rsplit_once(':').map_or(raw, |(host, _)| host).to_ascii_lowercase();
        if let Some(ip) = parse_ipv4_loose(&raw_host) {
            allowed_for(IpAddr::V4(ip), policy)?;
        }
    }

    // The parser has normalised the host: IPv6 in brackets, IPv4 as a dotted quad.
    let host_str = parsed.host_str().ok_or(FetchError::InvalidUrl)?.to_ascii_lowercase();
    let ip = if let Some(inner) = host_str.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(IpAddr::V6(inner.parse().map_err(|_| FetchError::InvalidUrl)?))
    } else if let Some(v4) = parse_ipv4_loose(&host_str) {
        Some(IpAddr::V4(v4))
    } else if ends_in_number(&host_str) {
        return Err(FetchError::InvalidUrl);
    } else if is_forbidden_name(&host_str) {
        return Err(FetchError::ForbiddenHost(host_str));
    } else {
        None
    };
    if let Some(ip) = ip {
        allowed_for(ip, policy)?;
    }

    let port = parsed.port_or_known_default().ok_or(FetchError::InvalidUrl)?;
    if !is_standard_port(port, policy) && !policy.allow_loopback {
        return Err(FetchError::ForbiddenPort(port));
    }
    Ok(Target {
        url: parsed,
        host: host_str,
        port,
        ip,
    })
}

/// The DNS resolver handed to reqwest: refuses every lookup, so the only
/// addresses reqwest can connect to are the pinned, checked ones.
struct NoDnsLookups;

impl Resolve for NoDnsLookups {
    fn resolve(&self, name: Name) -> Resolving {
        tracing::warn!(host = name.as_str(), "safe_fetch: unexpected DNS lookup refused");
        Box::pin(async { Err("DNS lookups are disabled; addresses are pinned after the SSRF check".into()) })
    }
}

/// Resolves (or takes the literal) and checks every address.
async fn checked_addresses(
    target: &Target,
    policy: &FetchPolicy,
    resolver: &dyn Resolver,
) -> Result<Vec<IpAddr>, FetchError> {
    let ips = match target.ip {
        Some(ip) => vec![ip],
        None => resolver.resolve(&target.host, target.port).await.map_err(|error| {
            tracing::debug!(host = %target.host, %error, "safe_fetch: resolution failed");
            FetchError::ResolveFailed
        })?,
    };
    if ips.is_empty() {
        return Err(FetchError::ResolveFailed);
    }
    for &ip in &ips {
        allowed_for(ip, policy)?;
    }
    if !is_standard_port(target.port, policy) && !ips.iter().all(|ip| ip.to_canonical().is_loopback()) {
        return Err(FetchError::ForbiddenPort(target.port));
    }
    Ok(ips)
}

fn map_transport_error(error: &reqwest::Error, host: &str) -> FetchError {
    tracing::debug!(host, %error, "safe_fetch: request failed");
    if error.is_timeout() {
        FetchError::Timeout
    } else if error.is_connect() {
        FetchError::Unreachable
    } else {
        FetchError::Network
    }
}

/// One request to one checked target, over a client that can only reach `addrs`.
async fn send(target: &Target, addrs: &[IpAddr], policy: &FetchPolicy) -> Result<reqwest::Response, FetchError> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(policy.timeout)
        .connect_timeout(CONNECT_TIMEOUT.min(policy.timeout))
        .no_proxy()
        .https_only(!policy.allow_http)
        .dns_resolver(Arc::new(NoDnsLookups))
        .user_agent(USER_AGENT);
    if target.ip.is_none() {
        let pinned: Vec<SocketAddr> = addrs.iter().map(|&ip| SocketAddr::new(ip, target.port)).collect();
        builder = builder.resolve_to_addrs(&target.host, &pinned);
    }
    let client = builder
        .build()
        .map_err(|error| map_transport_error(&error, &target.host))?;
    client
        .get(target.url.clone())
        .header(
            ACCEPT,
            "application/xml, text/xml, application/json, text/csv, */*;q=0.5",
        )
        .send()
        .await
        .map_err(|error| map_transport_error(&error, &target.host))
}

/// Fetches a shop's public feed under `policy`, resolving names with `resolver`
/// (use [`SystemResolver`] in production). See the module docs for every check.
///
/// # Errors
///
/// A [`FetchError`] whose message can be shown to the shop owner as is.
pub async fn fetch(url: &str, policy: &FetchPolicy, resolver: &dyn Resolver) -> Result<Fetched, FetchError> {
    tokio::time::timeout(policy.timeout, fetch_inner(url, policy, resolver))
        .await
        .unwrap_or(Err(FetchError::Timeout))
}

async fn fetch_inner(url: &str, policy: &FetchPolicy, resolver: &dyn Resolver) -> Result<Fetched, FetchError> {
    let mut target = parse_target(url, policy)?;
    let mut redirects = 0;
    loop {
        let addrs = checked_addresses(&target, policy, resolver).await?;
        let mut response = send(&target, &addrs, policy).await?;
        let status = response.status().as_u16();

        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            let location = response.headers().get(LOCATION).ok_or(FetchError::BadRedirect)?;
            let location = location.to_str().map_err(|_| FetchError::BadRedirect)?;
            let next = target.url.join(location).map_err(|_| FetchError::BadRedirect)?;
            if !next
                .host_str()
                .is_some_and(|host| host.eq_ignore_ascii_case(&target.host))
            {
                return Err(FetchError::RedirectToOtherHost);
            }
            if redirects == MAX_REDIRECTS {
                return Err(FetchError::TooManyRedirects);
            }
            redirects += 1;
            let next = parse_target(next.as_str(), policy)?;
            if next.host != target.host {
                return Err(FetchError::RedirectToOtherHost);
            }
            target = next;
            continue;
        }
        if !(200..300).contains(&status) {
            return Err(FetchError::Status(status));
        }

        let limit = u64::try_from(policy.max_bytes).unwrap_or(u64::MAX);
        if response.content_length().is_some_and(|length| length > limit) {
            return Err(FetchError::TooLarge);
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let expected = response
            .content_length()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(0);
        let mut body = Vec::with_capacity(expected.min(policy.max_bytes));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| map_transport_error(&error, &target.host))?
        {
            if body.len().saturating_add(chunk.len()) > policy.max_bytes {
                // Dropping the response closes the connection: we stop reading here.
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(Fetched {
            final_url: target.url.to_string(),
            content_type,
            body,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn test_policy() -> FetchPolicy {
        FetchPolicy {
            allow_http: true,
            allow_loopback: true,
            ..FetchPolicy::production()
        }
    }

    #[test]
    fn refuses_every_non_public_address() {
        let refused = [
            // 0/8 and unspecified
            "0.0.0.0",
            "0.1.2.3",
            // private
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "192.168.255.255",
            // CGNAT
            "100.64.0.1",
            "100.127.255.255",
            "100.100.100.200",
            // loopback
            "127.0.0.1",
            "127.255.255.254",
            // link-local and metadata
            "169.254.0.1",
            "169.254.169.254",
            // IETF / documentation / benchmarking / reserved
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            // multicast, reserved, broadcast
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            // IPv6 basics
            "::",
            "::1",
            "fe80::1",
            "febf:ffff::1",
            "fec0::1",
            "fc00::1",
            "fd12:3456::1",
            "fd00:ec2::254",
            "ff02::1",
            "ff0e::1",
            "100::1",
            "2001:db8::1",
            "2001:db8:ffff::1",
            "3fff::1",
            "2001::1", // Teredo
            "64:ff9b:1::1",
            // IPv4-mapped forms
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::ffff:100.64.0.1",
            "::ffff:192.168.1.1",
            // IPv4-compatible (deprecated) forms, refused wholesale
            "::127.0.0.1",
            "::10.0.0.1",
            "::8.8.8.8",
            // IPv4-translated
            "::ffff:0:8.8.8.8",
            // NAT64 wrapping refused addresses
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::10.1.2.3",
            // 6to4 wrapping refused addresses
            "2002:7f00:0001::1",
            "2002:a9fe:a9fe::",
            "2002:0a00:0001:1::1",
            "2002:c0a8:0101::1",
        ];
        for addr in refused {
            let ip = ip(addr);
            assert_eq!(
                check_ip(ip),
                Err(FetchError::ForbiddenAddress(ip)),
                "{addr} must be refused"
            );
        }
    }

    #[test]
    fn accepts_public_addresses_including_range_neighbours() {
        let allowed = [
            "93.184.216.34",
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "2001:4860:4860::8888",
            "::ffff:93.184.216.34",
            "64:ff9b::93.184.216.34",
            "2002:5db8:d822::1",
        ];
        for addr in allowed {
            assert_eq!(check_ip(ip(addr)), Ok(()), "{addr} must be allowed");
        }
    }

    #[test]
    fn parses_numeric_hosts_like_inet_aton() {
        let cases = [
            ("2130706433", "127.0.0.1"),
            ("0x7f000001", "127.0.0.1"),
            ("0X7F000001", "127.0.0.1"),
            ("0177.0.0.1", "127.0.0.1"),
            ("0177.0.0.01", "127.0.0.1"),
            ("127.1", "127.0.0.1"),
            ("127.0.1", "127.0.0.1"),
            ("0x7f.1", "127.0.0.1"),
            ("0", "0.0.0.0"),
            ("0x", "0.0.0.0"),
            ("127.0.0.1.", "127.0.0.1"),
            ("3232235521", "192.168.0.1"),
            ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
            ("169.16689662", "169.254.169.254"),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_ipv4_loose(input), Some(expected.parse().unwrap()), "{input}");
        }
        for not_ip in [
            "shop.example",
            "1..2",
            "08",
            "0x7g",
            "256.0.0.1",
            "1.2.3.4.5",
            "4294967296",
            "",
            "1.2.65536",
        ] {
            assert_eq!(parse_ipv4_loose(not_ip), None, "{not_ip}");
        }
    }

    #[test]
    fn parse_target_refuses_dangerous_urls() {
        let prod = FetchPolicy::production();
        let forbidden_addr = |s: &str| FetchError::ForbiddenAddress(ip(s));
        let cases: Vec<(&str, FetchError)> = vec![
            ("https://2130706433/feed", forbidden_addr("127.0.0.1")),
            ("https://0x7f000001/feed", forbidden_addr("127.0.0.1")),
            ("https://0177.0.0.1/feed", forbidden_addr("127.0.0.1")),
            ("https://127.1/feed", forbidden_addr("127.0.0.1")),
            ("https://0/feed", forbidden_addr("0.0.0.0")),
            ("https://127.0.0.1/feed", forbidden_addr("127.0.0.1")),
            ("https://[::1]/feed", forbidden_addr("::1")),
            ("https://[::ffff:127.0.0.1]/feed", forbidden_addr("::ffff:127.0.0.1")),
            (
                "https://[::ffff:a9fe:a9fe]/feed",
                forbidden_addr("::ffff:169.254.169.254"),
            ),
            (
                "https://[fd00:ec2::254]/latest/meta-data/",
                forbidden_addr("fd00:ec2::254"),
            ),
            ("https://[64:ff9b::7f00:1]/", forbidden_addr("64:ff9b::127.0.0.1")),
            (
                "https://169.254.169.254/latest/meta-data/",
                forbidden_addr("169.254.169.254"),
            ),
            ("https://10.1.2.3/", forbidden_addr("10.1.2.3")),
            ("https://192.168.1.1./", forbidden_addr("192.168.1.1")),
            ("https://%31%32%37.0.0.1/", forbidden_addr("127.0.0.1")),
            (
                "https://metadata.google.internal/computeMetadata/v1/",
                FetchError::ForbiddenHost("metadata.google.internal".into()),
            ),
            (
                "https://METADATA.google.internal./",
                FetchError::ForbiddenHost("metadata.google.internal.".into()),
            ),
            ("https://metadata/", FetchError::ForbiddenHost("metadata".into())),
            ("https://localhost/", FetchError::ForbiddenHost("localhost".into())),
            ("https://localhost./", FetchError::ForbiddenHost("localhost.".into())),
            (
                "https://shop.localhost/",
                FetchError::ForbiddenHost("shop.localhost".into()),
            ),
            ("https://db.internal/", FetchError::ForbiddenHost("db.internal".into())),
            (
                "https://printer.local/",
                FetchError::ForbiddenHost("printer.local".into()),
            ),
            (
                "https://router.home.arpa/",
                FetchError::ForbiddenHost("router.home.arpa".into()),
            ),
            ("https://intranet/", FetchError::ForbiddenHost("intranet".into())),
            ("https://user@shop.example/feed", FetchError::Credentials),
            ("https://user:pw@shop.example/feed", FetchError::Credentials),
            ("https://@shop.example/feed", FetchError::Credentials),
            ("https://shop.example@127.0.0.1/feed", FetchError::Credentials),
            ("https://shop.example:8443/feed", FetchError::ForbiddenPort(8443)),
            ("https://shop.example:80/feed", FetchError::ForbiddenPort(80)),
            ("https://shop.example:22/feed", FetchError::ForbiddenPort(22)),
            ("http://shop.example/feed", FetchError::NotHttps),
            ("ftp://shop.example/feed", FetchError::NotHttps),
            ("file:///etc/passwd", FetchError::NotHttps),
            ("gopher://shop.example/", FetchError::NotHttps),
            ("not a url", FetchError::InvalidUrl),
            ("https://1.2.3.99999999999/", FetchError::InvalidUrl),
        ];
        for (url, expected) in cases {
            assert_eq!(parse_target(url, &prod), Err(expected), "{url}");
        }
    }

    #[test]
    fn parse_target_accepts_public_urls() {
        let target = parse_target(
            "  https://Shop.Example/feeds/products.xml?x=1  ",
            &FetchPolicy::production(),
        )
        .unwrap();
        assert_eq!(target.host, "shop.example");
        assert_eq!(target.port, 443);
        assert_eq!(target.ip, None);
        assert_eq!(target.url.as_str(), "https://shop.example/feeds/products.xml?x=1");

        let literal = parse_target("https://93.184.216.34:443/feed", &FetchPolicy::production()).unwrap();
        assert_eq!(literal.ip, Some(ip("93.184.216.34")));

        let dev = FetchPolicy::development();
        assert_eq!(parse_target("http://shop.example/feed", &dev).unwrap().port, 80);
        assert_eq!(
            parse_target("http://shop.example:8080/feed", &dev),
            Err(FetchError::ForbiddenPort(8080))
        );
        assert_eq!(
            parse_target("http://127.0.0.1/feed", &dev),
            Err(FetchError::ForbiddenAddress(ip("127.0.0.1")))
        );
        assert_eq!(
            parse_target("http://localhost/feed", &dev),
            Err(FetchError::ForbiddenHost("localhost".into()))
        );
    }

    #[test]
    fn policies_have_the_documented_limits() {
        let prod = FetchPolicy::production();
        assert!(!prod.allow_http && !prod.allow_loopback);
        assert_eq!(prod.max_bytes, 5 * 1024 * 1024);
        assert_eq!(prod.timeout, Duration::from_secs(10));
        let dev = FetchPolicy::development();
        assert!(dev.allow_http && !dev.allow_loopback);
        assert_eq!(dev.max_bytes, prod.max_bytes);
    }

    #[tokio::test]
    async fn resolved_private_address_is_refused() {
        let resolver = StaticResolver::default().with("shop.example", &[ip("10.0.0.5")]);
        let result = fetch("https://shop.example/feed.xml", &FetchPolicy::production(), &resolver).await;
        assert_eq!(result, Err(FetchError::ForbiddenAddress(ip("10.0.0.5"))));
    }

    #[tokio::test]
    async fn any_bad_address_in_the_answer_refuses() {
        let resolver = StaticResolver::default().with("mixed.example", &[ip("93.184.216.34"), ip("127.0.0.1")]);
        let result = fetch("https://mixed.example/feed.xml", &FetchPolicy::production(), &resolver).await;
        assert_eq!(result, Err(FetchError::ForbiddenAddress(ip("127.0.0.1"))));

        let resolver =
            StaticResolver::default().with("v6.example", &[ip("2606:4700::1"), ip("::ffff:169.254.169.254")]);
        let result = fetch("https://v6.example/feed.xml", &FetchPolicy::production(), &resolver).await;
        assert_eq!(result, Err(FetchError::ForbiddenAddress(ip("::ffff:169.254.169.254"))));
    }

    #[tokio::test]
    async fn unknown_or_empty_names_fail_to_resolve() {
        let resolver = StaticResolver::default().with("empty.example", &[]);
        let prod = FetchPolicy::production();
        assert_eq!(
            fetch("https://empty.example/", &prod, &resolver).await,
            Err(FetchError::ResolveFailed)
        );
        assert_eq!(
            fetch("https://missing.example/", &prod, &resolver).await,
            Err(FetchError::ResolveFailed)
        );
    }

    #[tokio::test]
    async fn loopback_mode_still_needs_loopback_for_odd_ports() {
        // allow_loopback lifts the port rule only when every address is loopback.
        let resolver = StaticResolver::default().with("public.example", &[ip("93.184.216.34")]);
        let result = fetch("http://public.example:8080/", &test_policy(), &resolver).await;
        assert_eq!(result, Err(FetchError::ForbiddenPort(8080)));
        // ... and never lifts the other private ranges.
        let result = fetch("http://10.0.0.1:8080/", &test_policy(), &resolver).await;
        assert_eq!(result, Err(FetchError::ForbiddenAddress(ip("10.0.0.1"))));
    }

    // ---- a tiny hand-written HTTP/1.1 server on 127.0.0.1 ----

    enum Reply {
        /// Sent as is, then the connection is closed.
        Raw(String),
        /// Headers, then `total` bytes of body in 16 KiB writes, stopping at the first write error.
        Endless { head: String, total: usize },
    }

    struct Server {
        addr: SocketAddr,
        accepted: Arc<AtomicUsize>,
        body_written: Arc<AtomicUsize>,
        finished: Arc<AtomicBool>,
    }

    fn ok(content_type: &str, body: &str) -> Reply {
        Reply::Raw(format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))
    }

    fn redirect(location: &str) -> Reply {
        Reply::Raw(format!(
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ))
    }

    async fn serve(handler: impl Fn(&str, u16) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Server {
            addr,
            accepted: Arc::new(AtomicUsize::new(0)),
            body_written: Arc::new(AtomicUsize::new(0)),
            finished: Arc::new(AtomicBool::new(false)),
        };
        let (accepted, written, finished) = (
            server.accepted.clone(),
            server.body_written.clone(),
            server.finished.clone(),
        );
        let handler = Arc::new(handler);
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                accepted.fetch_add(1, Ordering::SeqCst);
                let (handler, written, finished) = (handler.clone(), written.clone(), finished.clone());
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&request);
                    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    match handler(&path, addr.port()) {
                        Reply::Raw(response) => {
                            let _ = stream.write_all(response.as_bytes()).await;
                        }
                        Reply::Endless { head, total } => {
                            if stream.write_all(head.as_bytes()).await.is_ok() {
                                let chunk = vec![b'x'; 16 * 1024];
                                let mut sent = 0;
                                while sent < total {
                                    if stream.write_all(&chunk).await.is_err() {
                                        break;
                                    }
                                    sent += chunk.len();
                                    written.store(sent, Ordering::SeqCst);
                                }
                            }
                        }
                    }
                    let _ = stream.shutdown().await;
                    finished.store(true, Ordering::SeqCst);
                });
            }
        });
        server
    }

    fn local_url(server: &Server, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", server.addr.port())
    }

    #[tokio::test]
    async fn fetches_a_body_from_a_local_server() {
        let server = serve(|path, _| match path {
            "/feed.xml" => ok("application/xml", "<products><p>tea</p></products>"),
            _ => Reply::Raw("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()),
        })
        .await;
        let fetched = fetch(&local_url(&server, "/feed.xml"), &test_policy(), &SystemResolver)
            .await
            .unwrap();
        assert_eq!(fetched.body, b"<products><p>tea</p></products>");
        assert_eq!(fetched.content_type.as_deref(), Some("application/xml"));
        assert_eq!(fetched.final_url, local_url(&server, "/feed.xml"));

        let missing = fetch(&local_url(&server, "/nope"), &test_policy(), &SystemResolver).await;
        assert_eq!(missing, Err(FetchError::Status(404)));
    }

    #[tokio::test]
    async fn connects_to_the_pinned_address_for_a_name() {
        // `feed.test` exists only in the static table: reqwest must use the pinned
        // address, never its own DNS lookup.
        let server = serve(|_, _| ok("text/csv", "sku,price\n")).await;
        let resolver = StaticResolver::default().with("feed.test", &[ip("127.0.0.1")]);
        let url = format!("http://feed.test:{}/products.csv", server.addr.port());
        let fetched = fetch(&url, &test_policy(), &resolver).await.unwrap();
        assert_eq!(fetched.body, b"sku,price\n");
        assert_eq!(server.accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn stops_reading_past_the_cap() {
        const TOTAL: usize = 64 * 1024 * 1024;
        let server = serve(|_, _| Reply::Endless {
            head: "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nConnection: close\r\n\r\n".into(),
            total: TOTAL,
        })
        .await;
        let policy = FetchPolicy {
            max_bytes: 64 * 1024,
            ..test_policy()
        };
        let result = fetch(&local_url(&server, "/big.csv"), &policy, &SystemResolver).await;
        assert_eq!(result, Err(FetchError::TooLarge));

        // The server's writes must start failing long before the whole body went out.
        tokio::time::timeout(Duration::from_secs(5), async {
            while !server.finished.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the client should have closed the connection");
        let written = server.body_written.load(Ordering::SeqCst);
        assert!(
            written < TOTAL / 2,
            "server wrote {written} bytes; the client kept reading"
        );
    }

    #[tokio::test]
    async fn refuses_a_too_large_content_length_without_reading() {
        let server = serve(|_, _| {
            Reply::Raw(format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                MAX_FEED_BYTES + 1
            ))
        })
        .await;
        let result = fetch(&local_url(&server, "/feed"), &test_policy(), &SystemResolver).await;
        assert_eq!(result, Err(FetchError::TooLarge));
    }

    #[tokio::test]
    async fn follows_a_redirect_to_the_same_host() {
        let server = serve(|path, port| match path {
            "/old" => redirect("/middle"),
            "/middle" => redirect(&format!("http://127.0.0.1:{port}/new?v=2")),
            "/new?v=2" => ok("application/json", "[]"),
            _ => Reply::Raw("HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()),
        })
        .await;
        let fetched = fetch(&local_url(&server, "/old"), &test_policy(), &SystemResolver)
            .await
            .unwrap();
        assert_eq!(fetched.body, b"[]");
        assert_eq!(fetched.final_url, local_url(&server, "/new?v=2"));
        assert_eq!(server.accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn refuses_a_redirect_to_another_host() {
        let server = serve(|path, _| match path {
            "/other" => redirect("http://other.example/feed"),
            "/scheme-relative" => redirect("//other.example/feed"),
            "/metadata" => redirect("http://169.254.169.254/latest/meta-data/"),
            _ => redirect("http://localhost/"),
        })
        .await;
        // A resolver that knows other.example: it must not even be asked.
        let resolver = StaticResolver::default().with("other.example", &[ip("127.0.0.1")]);
        for path in ["/other", "/scheme-relative", "/metadata", "/localhost"] {
            let result = fetch(&local_url(&server, path), &test_policy(), &resolver).await;
            assert_eq!(result, Err(FetchError::RedirectToOtherHost), "{path}");
        }
        assert_eq!(server.accepted.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn stops_a_redirect_loop_after_three_hops() {
        let server = serve(|_, _| redirect("/loop")).await;
        let result = fetch(&local_url(&server, "/loop"), &test_policy(), &SystemResolver).await;
        assert_eq!(result, Err(FetchError::TooManyRedirects));
        // The first request plus three followed redirects.
        assert_eq!(server.accepted.load(Ordering::SeqCst), 1 + MAX_REDIRECTS);
    }

    #[tokio::test]
    async fn refuses_the_local_server_before_connecting_without_allow_loopback() {
        let server = serve(|_, _| ok("text/plain", "secret")).await;
        let policy = FetchPolicy {
            allow_loopback: false,
            ..test_policy()
        };
        let result = fetch(&local_url(&server, "/feed"), &policy, &SystemResolver).await;
        assert_eq!(result, Err(FetchError::ForbiddenAddress(ip("127.0.0.1"))));

        let resolver = StaticResolver::default().with("feed.test", &[ip("127.0.0.1")]);
        let result = fetch("http://feed.test/feed", &policy, &resolver).await;
        assert_eq!(result, Err(FetchError::ForbiddenAddress(ip("127.0.0.1"))));

        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(server.accepted.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn times_out_on_a_silent_server() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hold = tokio::spawn(async move {
            let (_stream, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let policy = FetchPolicy {
            timeout: Duration::from_millis(300),
            ..test_policy()
        };
        let result = fetch(&format!("http://127.0.0.1:{port}/"), &policy, &SystemResolver).await;
        assert_eq!(result, Err(FetchError::Timeout));
        hold.abort();
    }
}
