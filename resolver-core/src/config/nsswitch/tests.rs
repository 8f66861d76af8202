use super::*;

fn serve(files: bool, dns: bool, files_first: bool) -> HostsSources {
    HostsSources::Serve {
        files,
        dns,
        files_first,
    }
}

fn not_mine(what: &str) -> HostsSources {
    HostsSources::NotMine {
        what: what.to_string(),
    }
}

#[test]
fn decisions() {
    let cases: &[(&str, HostsSources)] = &[
        // No hosts line: glibc >= 2.33's default.
        ("", serve(true, true, true)),
        ("passwd: files\ngroup: files\n", serve(true, true, true)),
        ("#hosts: dns\n", serve(true, true, true)),
        ("hosts: files dns", serve(true, true, true)),
        ("hosts:\tfiles\tdns\n", serve(true, true, true)),
        ("  hosts:files dns", serve(true, true, true)),
        ("hosts files dns", serve(true, true, true)),
        ("hosts: files", serve(true, false, true)),
        ("hosts: dns", serve(false, true, false)),
        (
            "hosts: dns [!UNAVAIL=return] files",
            serve(true, true, false),
        ),
        (
            "hosts: dns [ ! unavail = Return ] files",
            not_mine("unparsable hosts line: dns [ ! unavail = Return ] files"),
        ),
        (
            "hosts: dns [!unavail=Return] files",
            serve(true, true, false),
        ),
        ("hosts: dns [!UNAVAIL=return]", serve(false, true, false)),
        // Explicit default actions are harmless, and so is anything after the last source.
        (
            "hosts: files [SUCCESS=return NOTFOUND=continue] dns",
            serve(true, true, true),
        ),
        (
            "hosts: files dns [NOTFOUND=return]",
            serve(true, true, true),
        ),
        // The last hosts line wins; other databases and case matter.
        (
            "hosts: dns myhostname\nhosts: files dns",
            serve(true, true, true),
        ),
        ("HOSTS: mdns4\nhosts: files", serve(true, false, true)),
        (
            "hosts: files myhostname\npasswd: files",
            not_mine("myhostname"),
        ),
        // Sources and actions we do not reproduce.
        (
            "hosts: files mdns4_minimal [NOTFOUND=return] dns",
            not_mine("mdns4_minimal"),
        ),
        (
            "hosts: files mymachines resolve [!UNAVAIL=return] dns",
            not_mine("mymachines"),
        ),
        (
            "hosts: resolve [!UNAVAIL=return] files",
            not_mine("resolve"),
        ),
        (
            "hosts: files [NOTFOUND=return] dns",
            not_mine("[NOTFOUND=return]"),
        ),
        (
            "hosts: files [SUCCESS=continue] dns",
            not_mine("[SUCCESS=continue]"),
        ),
        (
            "hosts: files [!UNAVAIL=return] dns",
            not_mine("[!UNAVAIL=return]"),
        ),
        (
            "hosts: files [NOTFOUND=merge] dns",
            not_mine("[NOTFOUND=merge]"),
        ),
        (
            "hosts: dns files",
            not_mine("dns before files without [!UNAVAIL=return]"),
        ),
        ("hosts: files files dns", not_mine("files listed twice")),
        ("hosts: Files dns", not_mine("Files")),
        ("hosts: files dns # the default", not_mine("#")),
        ("hosts:", not_mine("empty hosts line")),
        // Syntax errors.
        (
            "hosts: files [NOTFOUND=stop] dns",
            not_mine("unparsable hosts line: files [NOTFOUND=stop] dns"),
        ),
        (
            "hosts: files [FOUND=return] dns",
            not_mine("unparsable hosts line: files [FOUND=return] dns"),
        ),
        (
            "hosts: files [NOTFOUND=return dns",
            not_mine("unparsable hosts line: files [NOTFOUND=return dns"),
        ),
        (
            "hosts: [NOTFOUND=return] files",
            not_mine("unparsable hosts line: [NOTFOUND=return] files"),
        ),
        (
            "hosts: files [] dns",
            not_mine("unparsable hosts line: files [] dns"),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(&NsswitchHosts::parse(text).sources, want, "{text:?}");
    }
}

#[test]
fn default_is_files_then_dns() {
    assert_eq!(NsswitchHosts::default(), NsswitchHosts::parse(""));
}

#[test]
fn garbage_never_panics() {
    for text in [
        "hosts: [",
        "hosts: files [",
        "hosts: files []",
        "hosts: files [!",
        "hosts: x [=]",
        "\0hosts",
        "hosts:\u{1F600}[ü=ß]",
    ] {
        let _ = NsswitchHosts::parse(text);
    }
}
