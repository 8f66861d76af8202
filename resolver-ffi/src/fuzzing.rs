//! The entry point of the getaddrinfo fuzz target (`fuzz/fuzz_targets/getaddrinfo.rs`). Not an
//! API: re-exported `#[doc(hidden)]`.
//!
//! It runs what the `getaddrinfo` export runs between reading its C arguments and returning —
//! [`decide`], then on `Serve` the list build — and frees the list again, so millions of
//! calls leak nothing. A `Bypass` is reported, not carried out: libc's getaddrinfo would
//! query the machine's own nameservers.

use std::ffi::{CStr, c_int};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libc::{AF_INET, AF_INET6, addrinfo, sockaddr_in, sockaddr_in6};

use crate::addrinfo::{build_list, free_list};
use crate::consts::AI_CANONNAME;
use crate::gai::{Decision, Request, decide, with_buffers};
use crate::state::existing_state;

/// The `hints` fields of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    /// `ai_flags`.
    pub flags: c_int,
    /// `ai_family`.
    pub family: c_int,
    /// `ai_socktype`.
    pub socktype: c_int,
    /// `ai_protocol`.
    pub protocol: c_int,
}

/// What the shim decided for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No resolver was installed ([`crate::install_resolver`]); nothing was decided, so a
    /// fuzzer never builds the environment's resolver (and never asks real nameservers).
    NoResolver,
    /// Served: the addresses of the list, in order, and its canonical name.
    Served {
        /// `(address, port)` of each node.
        addresses: Vec<(IpAddr, u16)>,
        /// `ai_canonname` of the first node.
        canonname: Option<String>,
    },
    /// Handed to libc (not done here), for this reason.
    Bypass(&'static str),
    /// Failed with this `EAI_*` code.
    Error(c_int),
}

/// Decides `getaddrinfo(node, service, hints)` as the export does and, when it is served,
/// builds the C list, reads it back and frees it.
pub fn getaddrinfo(node: Option<&CStr>, service: Option<&CStr>, hints: Hints) -> Outcome {
    let Some(state) = existing_state() else {
        return Outcome::NoResolver;
    };
    let request = Request {
        node,
        service,
        flags: hints.flags,
        family: hints.family,
        socktype: hints.socktype,
        protocol: hints.protocol,
    };
    with_buffers(|buffers| match decide(state, &request, buffers) {
        Decision::Serve(()) => {
            match build_list(&buffers.entries, request.flags, buffers.canonname()) {
                // SAFETY: a list build_list just made and registered, freed once here.
                Ok(list) => unsafe {
                    let outcome = read_list(list);
                    free_list(list);
                    outcome
                },
                Err(()) => Outcome::Error(crate::consts::EAI_MEMORY),
            }
        }
        Decision::Bypass(why) => Outcome::Bypass(why),
        Decision::Error(code) => Outcome::Error(code),
    })
    .checked(hints)
}

impl Outcome {
    /// Checks what glibc's contract promises of a served list: only the family asked for
    /// (`AF_INET6` includes v4-mapped addresses), and a canonical name exactly when
    /// `AI_CANONNAME` was given and the list is not empty. Panics otherwise.
    fn checked(self, hints: Hints) -> Outcome {
        if let Outcome::Served {
            addresses,
            canonname,
        } = &self
        {
            for (address, _) in addresses {
                match hints.family {
                    AF_INET => assert!(address.is_ipv4(), "AF_INET call served {address}"),
                    AF_INET6 => assert!(address.is_ipv6(), "AF_INET6 call served {address}"),
                    _ => {}
                }
            }
            let wants_canon = hints.flags & AI_CANONNAME != 0 && !addresses.is_empty();
            assert_eq!(
                canonname.is_some(),
                wants_canon,
                "canonical name {canonname:?} with flags {:#x}",
                hints.flags
            );
        }
        self
    }
}

/// Reads the served list back as a C caller would.
///
/// # Safety
/// `list` is NULL or a list made by `build_list` and not yet freed.
unsafe fn read_list(list: *mut addrinfo) -> Outcome {
    let mut addresses = Vec::new();
    // SAFETY: by the contract, NULL or a valid node whose ai_canonname is NULL or a C string.
    let canonname = unsafe { list.as_ref() }
        .filter(|head| !head.ai_canonname.is_null())
        // SAFETY: as above.
        .map(|head| unsafe { CStr::from_ptr(head.ai_canonname) })
        .map(|name| name.to_string_lossy().into_owned());
    let mut node = list;
    while !node.is_null() {
        // SAFETY: a node of the list; ai_addr points to a sockaddr of ai_family's type.
        unsafe {
            let entry = &*node;
            let address = match entry.ai_family {
                AF_INET => {
                    assert_eq!(entry.ai_addrlen as usize, size_of::<sockaddr_in>());
                    let sin = &*entry.ai_addr.cast::<sockaddr_in>();
                    (
                        IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))),
                        u16::from_be(sin.sin_port),
                    )
                }
                AF_INET6 => {
                    assert_eq!(entry.ai_addrlen as usize, size_of::<sockaddr_in6>());
                    let sin6 = &*entry.ai_addr.cast::<sockaddr_in6>();
                    (
                        IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)),
                        u16::from_be(sin6.sin6_port),
                    )
                }
                other => panic!("list node with family {other}"),
            };
            addresses.push(address);
            node = entry.ai_next;
        }
    }
    Outcome::Served {
        addresses,
        canonname,
    }
}
