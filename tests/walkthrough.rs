//! The main demo runs to the end and tells the story it promises.

use std::process::Command;

#[test]
fn the_walkthrough_tells_the_whole_story() {
    let mut path = std::env::current_exe().expect("test binary path");
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    let binary = path.join("examples").join(format!("walkthrough{}", std::env::consts::EXE_SUFFIX));
    let output = Command::new(binary).output().expect("run the walkthrough example");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let story = String::from_utf8(output.stdout).expect("UTF-8");
    for expected in [
        "otpauth://totp/Smith%20%26%20Co:sarah%40smith.example?secret=",
        "mfa-kit decides: ask for a code",
        "signed in.",
        "refused: \"That code was already used: each code works once. Enter a new one (4 tries left).\"",
        "refused: \"That code is not right. Check it and try again (1 try left).\"",
        "refused, locked out until",
        "Sarah, with the right code",
        "cleared: [Authenticator, Lockout]",
        "An admin reset two-step verification (",
        "Locked out after too many wrong codes, until",
        "Tom, a practitioner without MFA, signs in: require setting up MFA (LevelMandatory)",
        "Tom signs in: let in (NotRequired)",
        "Sarah, who set MFA up, signs in: ask for a code",
        "Mia, without MFA, signs in: require setting up MFA (CompliancePreset)",
        "in force: 12 hours, lockout after 5 wrong codes",
        "refused (JurisdictionRule)",
        "Tom tries to change the levels himself: You do not have permission",
        "Changed the MFA settings of smith-co: levels from none to practitioner: mandatory.",
        "A change of the MFA settings of smith-co was refused",
        "She types the first recovery code",
        "accepted (RecoveryCode): signed in.",
        "The same code again: refused: \"That code was already used: each code works once.",
        "(e-mail to ann@smith.example: \"Your Smith & Co code is",
        "accepted (Email): signed in.",
        "Next day on the laptop: let in (RememberedDevice)",
        "1 remembered device(s) revoked",
        "The partner confirms it is them with a code first: accepted",
        "She scans a second QR code with the backup phone and types two codes: added beside her phone.",
        "Her authenticators: Authenticator app, Backup phone in the safe",
        "A code from the backup phone signs her in too: accepted",
        "mfa-kit: ask for a second factor first ([Totp, Email]), valid for 5 minutes",
        "mfa-kit: go ahead: a second factor (Totp) was proved at",
        "The host saves the new bank details.",
        "(security e-mail to sarah: \"someone signed in with one of your recovery codes.",
        "(security e-mail to sarah: \"an administrator reset your two-step verification.",
    ] {
        assert!(story.contains(expected), "missing {expected:?} in:\n{story}");
    }
    // The status list shows tom without MFA.
    assert!(story.lines().any(|line| line.trim_start().starts_with("tom") && line.contains("NO")));
}
