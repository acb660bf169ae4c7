//! `--chown` and `USER` owners: numbers, or names looked up in the image's
//! own `/etc/passwd` and `/etc/group`, as BuildKit does.

/// Parses `user[:group]` into numeric ids. `passwd` and `group` are the
/// image's files (None when the image has none). A user given alone also
/// sets the group to the user's primary group (from passwd) or, if numeric
/// and not in passwd, to the same number.
pub fn resolve_owner(
    spec: &str,
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<(u64, u64), String> {
    if spec == ":" {
        // `--chown=${A}:${B}` with both unset: BuildKit (v0.8 here, as in
        // buildah's copy-chown test) owns the files by root
        return Ok((0, 0));
    }
    let (user, grp) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user.is_empty() {
        return Err(format!("invalid owner {spec:?}: empty user"));
    }
    let (uid, primary_gid) = match user.parse::<u64>() {
        Ok(uid) => {
            let primary = passwd
                .and_then(|p| find_passwd(p, |name, id| id == uid && !name.is_empty()))
                .map(|(_, _, gid)| gid);
            (uid, primary.unwrap_or(uid))
        }
        Err(_) => {
            let passwd = passwd.ok_or_else(|| {
                format!("unable to find user {user}: the image has no /etc/passwd")
            })?;
            let (_, uid, gid) = find_passwd(passwd, |name, _| name == user).ok_or_else(|| {
                format!("unable to find user {user}: no matching entries in passwd file")
            })?;
            (uid, gid)
        }
    };
    let gid = match grp {
        None => primary_gid,
        Some("") => return Err(format!("invalid owner {spec:?}: empty group")),
        Some(g) => match g.parse::<u64>() {
            Ok(gid) => gid,
            Err(_) => {
                let group = group.ok_or_else(|| {
                    format!("unable to find group {g}: the image has no /etc/group")
                })?;
                find_group(group, g).ok_or_else(|| {
                    format!("unable to find group {g}: no matching entries in group file")
                })?
            }
        },
    };
    Ok((uid, gid))
}

fn find_passwd(text: &str, want: impl Fn(&str, u64) -> bool) -> Option<(String, u64, u64)> {
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 || line.starts_with('#') {
            return None;
        }
        let uid = f[2].trim().parse().ok()?;
        let gid = f[3].trim().parse().ok()?;
        want(f[0], uid).then(|| (f[0].to_string(), uid, gid))
    })
}

fn find_group(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 3 || f[0] != name {
            return None;
        }
        f[2].trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\napp:x:1000:1001::/home/app:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nstaff:x:50:\napp:x:1001:\n";

    #[test]
    fn owners() {
        assert_eq!(resolve_owner("10:20", None, None), Ok((10, 20)));
        assert_eq!(resolve_owner("10", None, None), Ok((10, 10)));
        assert_eq!(resolve_owner("1000", Some(PASSWD), None), Ok((1000, 1001)));
        assert_eq!(
            resolve_owner("app", Some(PASSWD), Some(GROUP)),
            Ok((1000, 1001))
        );
        assert_eq!(
            resolve_owner("app:staff", Some(PASSWD), Some(GROUP)),
            Ok((1000, 50))
        );
        assert_eq!(
            resolve_owner("nobody", Some(PASSWD), None),
            Err("unable to find user nobody: no matching entries in passwd file".into())
        );
        assert_eq!(
            resolve_owner("app", None, None),
            Err("unable to find user app: the image has no /etc/passwd".into())
        );
        assert!(resolve_owner("0:wheel", Some(PASSWD), Some(GROUP)).is_err());
    }
}
