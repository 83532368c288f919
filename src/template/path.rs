//! The path forms `{.}`, `{/}`, `{//}` and `{/.}`, on raw bytes (a path need
//! not be UTF-8), following POSIX basename and dirname as GNU parallel does.

/// `{/}`: the last path component, trailing slashes ignored (POSIX basename).
pub(crate) fn basename(path: &[u8]) -> &[u8] {
    let end = trim_trailing_slashes(path);
    if end == 1 && path[0] == b'/' {
        return b"/";
    }
    let start = memchr::memrchr(b'/', &path[..end]).map_or(0, |at| at + 1);
    &path[start..end]
}

/// `{//}`: everything before the last component (POSIX dirname, as GNU parallel).
pub(crate) fn dirname(path: &[u8]) -> &[u8] {
    let end = trim_trailing_slashes(path);
    let Some(slash) = memchr::memrchr(b'/', &path[..end]) else {
        return b".";
    };
    let mut stop = slash;
    while stop > 0 && path[stop - 1] == b'/' {
        stop -= 1;
    }
    if stop == 0 { b"/" } else { &path[..stop] }
}

/// Length of the path without trailing slashes, keeping one for `/`.
fn trim_trailing_slashes(path: &[u8]) -> usize {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    end
}

/// `{.}`: the path with its last component's extension removed.
pub(crate) fn without_ext(path: &[u8]) -> &[u8] {
    let start = memchr::memrchr(b'/', path).map_or(0, |at| at + 1);
    let kept = strip_ext(&path[start..]).len();
    &path[..start + kept]
}

/// A file name without its last `.ext`; dotfiles and a trailing dot stay.
pub(crate) fn strip_ext(name: &[u8]) -> &[u8] {
    match memchr::memrchr(b'.', name) {
        Some(dot) if dot > 0 && dot + 1 < name.len() => &name[..dot],
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use crate::template::tests::*;

    #[test]
    fn without_extension_edge_cases() {
        for (input, want) in [
            ("a/b.tar.gz", "a/b.tar"),
            ("a.b/c", "a.b/c"),
            (".bashrc", ".bashrc"),
            ("a/.bashrc", "a/.bashrc"),
            ("file.txt", "file"),
            ("a.", "a."),
            ("..", ".."),
            ("a/b.c/", "a/b.c/"),
            ("", ""),
            ("noext", "noext"),
        ] {
            assert_eq!(
                one("{.}", input.as_bytes()),
                want.as_bytes(),
                "{{.}} of {input:?}"
            );
        }
    }

    #[test]
    fn basename_edge_cases() {
        for (input, base, base_no_ext) in [
            ("a/b/c.txt", "c.txt", "c"),
            ("c", "c", "c"),
            ("/a", "a", "a"),
            ("/", "/", "/"),
            ("a/b/", "b", "b"),
            ("a.b/c", "c", "c"),
            ("x/.bashrc", ".bashrc", ".bashrc"),
            ("x/a.tar.gz", "a.tar.gz", "a.tar"),
            ("", "", ""),
        ] {
            assert_eq!(
                one("{/}", input.as_bytes()),
                base.as_bytes(),
                "{{/}} of {input:?}"
            );
            assert_eq!(
                one("{/.}", input.as_bytes()),
                base_no_ext.as_bytes(),
                "{{/.}} of {input:?}"
            );
        }
    }

    #[test]
    fn dirname_edge_cases() {
        for (input, want) in [
            ("a/b/c", "a/b"),
            ("c", "."),
            ("/a", "/"),
            ("/", "/"),
            ("a/b/", "a"),
            ("a//b", "a"),
            ("//a", "/"),
            ("", "."),
            ("./x", "."),
        ] {
            assert_eq!(
                one("{//}", input.as_bytes()),
                want.as_bytes(),
                "{{//}} of {input:?}"
            );
        }
    }

    #[test]
    fn path_ops_keep_invalid_utf8() {
        assert_eq!(one("{/}", b"d\xff/f\xfe.x"), b"f\xfe.x");
        assert_eq!(one("{.}", b"d\xff/f\xfe.x"), b"d\xff/f\xfe");
        assert_eq!(one("{}", b"\xff\r"), b"\xff\r");
    }
}
