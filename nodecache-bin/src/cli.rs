//! The command line (SPEC §3).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use resolver_core::Family;
use resolver_core::policy::SearchMode;

/// Exit code for a bad command line or configuration (sysexits.h `EX_USAGE`).
pub(crate) const EXIT_USAGE: u8 = 64;

/// Kubernetes-aware DNS: node-local cache daemon and resolver diagnostics.
#[derive(Debug, Parser)]
#[command(name = "nodecache", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Resolve a name as the shim would (same core, same policy, cold cache): addresses on
    /// stdout, the queries sent on stderr.
    Resolve(ResolveArgs),
    /// Show, without sending anything, the queries glibc would send and the ones nodecache sends.
    Explain(ExplainArgs),
    /// Run the node-local caching daemon.
    Serve(ServeArgs),
}

/// Where the resolver configuration comes from.
#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    /// resolv.conf to use.
    #[arg(long, value_name = "FILE", default_value = "/etc/resolv.conf")]
    pub(crate) resolv_conf: PathBuf,
    /// hosts file to use.
    #[arg(long, value_name = "FILE", default_value = "/etc/hosts")]
    pub(crate) hosts: PathBuf,
    /// nsswitch.conf to use.
    #[arg(long, value_name = "FILE", default_value = "/etc/nsswitch.conf")]
    pub(crate) nsswitch: PathBuf,
    /// Search policy; default: `kubernetes` when the search list looks like a pod's, else
    /// `glibc` (also set by NODECACHE_SEARCH).
    #[arg(long, value_enum, value_name = "MODE")]
    pub(crate) search: Option<SearchArg>,
}

#[derive(Debug, Args)]
pub(crate) struct ResolveArgs {
    /// The name, as a program would pass it to getaddrinfo.
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
    /// Address family, as getaddrinfo's ai_family.
    #[arg(long, value_enum, default_value_t = FamilyArg::Unspec)]
    pub(crate) family: FamilyArg,
    /// Resolve N times, each with a cold cache, and end stderr with a latency summary line.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub(crate) repeat: u32,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// The name, as a program would pass it to getaddrinfo.
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FamilyArg {
    /// IPv4 and IPv6 (AF_UNSPEC).
    Unspec,
    /// IPv4 only (AF_INET).
    Inet,
    /// IPv6 only (AF_INET6).
    Inet6,
}

impl From<FamilyArg> for Family {
    fn from(arg: FamilyArg) -> Family {
        match arg {
            FamilyArg::Unspec => Family::Unspec,
            FamilyArg::Inet => Family::Inet,
            FamilyArg::Inet6 => Family::Inet6,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SearchArg {
    /// glibc's search sequence pruned by the Kubernetes DNS schema.
    Kubernetes,
    /// glibc's exact search sequence.
    Glibc,
}

impl From<SearchArg> for SearchMode {
    fn from(arg: SearchArg) -> SearchMode {
        match arg {
            SearchArg::Kubernetes => SearchMode::Kubernetes,
            SearchArg::Glibc => SearchMode::Glibc,
        }
    }
}

impl ConfigArgs {
    /// A resolver builder reading these files, honouring NODECACHE_SEARCH unless `--search`.
    pub(crate) fn builder(&self) -> resolver_core::resolver::ResolverBuilder {
        let mut builder = resolver_core::resolver::ResolverBuilder::from_env()
            .resolv_conf(&self.resolv_conf)
            .hosts(&self.hosts)
            .nsswitch(&self.nsswitch);
        if let Some(mode) = self.search {
            builder = builder.search_mode(mode.into());
        }
        builder
    }
}
