"""Maildir and mbox mailboxes (the standard library's mailbox module) as a `from_mail` question reads them:
which mail answers (to whom, since when, text or HTML however encoded), and what becomes of it afterwards."""

from __future__ import annotations

import mailbox
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from automation.mail import MaildirConfig, MboxConfig, find_answer, open_mailbox

CODE = r"code is (\d{6})"
TO = "ana@example.test"


def mail(text: str | None = None, *, html: str | None = None, to: str = TO, charset: str = "utf-8",
         cte: str | None = None, subject: str = "Your sign-in code", **headers: str) -> EmailMessage:  # fmt: skip
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "shop@example.test", to, subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    if text is not None:
        message.set_content(text, charset=charset, cte=cte)
    if html is not None:
        if text is None:
            message.set_content(html, subtype="html", charset=charset, cte=cte)
        else:
            message.add_alternative(html, subtype="html", charset=charset, cte=cte)
    return message


def maildir(tmp_path: Path) -> mailbox.Maildir:
    return mailbox.Maildir(tmp_path / "Maildir", create=True)


def deliver(box: mailbox.Maildir | mailbox.mbox, message: EmailMessage, age_s: float = 0.0) -> str:
    """Deliver as a mail server would, `age_s` seconds ago (a Maildir file's time, an mbox 'From ' line)."""
    when = time.time() - age_s
    if isinstance(box, mailbox.Maildir):
        item: mailbox.Message = mailbox.MaildirMessage(message)
        item.set_date(when)  # type: ignore[attr-defined]
    else:
        item = mailbox.mboxMessage(message)
        item.set_from("MAILER-DAEMON", time.gmtime(when))  # type: ignore[attr-defined]
    key = box.add(item)
    box.flush()
    return str(key)


def answer(config: MaildirConfig | MboxConfig, *, since: float | None = None, timeout_s: float = 0.0,
           then: str = "keep", to: str = TO, subject: str | None = None) -> str | None:  # fmt: skip
    with open_mailbox(config) as box:
        return find_answer(box, to=to, pattern=CODE, subject=subject, since=since or time.time() - 60,
                           timeout_s=timeout_s, then=then, poll_s=0.05)  # fmt: skip


def dir_config(tmp_path: Path) -> MaildirConfig:
    return MaildirConfig(type="maildir", path=str(tmp_path / "Maildir"))


def test_a_code_in_an_html_only_quoted_printable_latin1_mail_is_found(tmp_path: Path) -> None:
    html = "<html><head><style>p{color:red}</style></head><body><p>Bonjour Ana&nbsp;! Votre code est pr\u00eat.</p>" \
           "<p>Your <b>code</b> is <span>482913</span></p><script>var code='is 000000'</script></body></html>"  # fmt: skip
    message = mail(html=html, charset="iso-8859-1", cte="quoted-printable")
    assert b"pr=EAt" in message.as_bytes()  # on the wire: quoted-printable Latin-1
    deliver(maildir(tmp_path), message)
    # tags between the words are gone, so the pattern reads the text as a person sees it
    assert answer(dir_config(tmp_path)) == "482913"


def test_a_base64_text_part_and_its_charset_are_decoded(tmp_path: Path) -> None:
    message = mail("Hola Ana \u2014 tu c\u00f3digo: your code is 730561", charset="utf-8", cte="base64")
    assert b"730561" not in message.as_bytes()  # the code is only there once base64 is undone
    deliver(maildir(tmp_path), message)
    assert answer(dir_config(tmp_path)) == "730561"


def test_mail_from_before_the_run_started_is_ignored(tmp_path: Path) -> None:
    box = maildir(tmp_path)
    deliver(box, mail("your code is 111111"), age_s=3600)  # an old code, e.g. from yesterday's run
    started = time.time()
    assert answer(dir_config(tmp_path), since=started) is None
    deliver(box, mail("your code is 222222"))
    assert answer(dir_config(tmp_path), since=started) == "222222"


def test_only_mail_to_the_recipient_answers(tmp_path: Path) -> None:
    box = maildir(tmp_path)
    deliver(box, mail("your code is 333333", to="bob@example.test"))
    assert answer(dir_config(tmp_path)) is None
    # the recipient may be in Cc, or only in the envelope (Delivered-To) when the mail was a Bcc
    deliver(box, mail("your code is 444444", to="bob@example.test", Cc="Ana <ANA@example.test>"))
    assert answer(dir_config(tmp_path)) == "444444"
    other = tmp_path / "other"
    deliver(mailbox.Maildir(other, create=True), mail("your code is 555555", to="list@example.test",
                                                      Delivered_To=TO))  # fmt: skip
    assert answer(MaildirConfig(type="maildir", path=str(other))) == "555555"


def test_subject_narrows_the_mails_that_answer(tmp_path: Path) -> None:
    deliver(maildir(tmp_path), mail("your code is 666666", subject="Newsletter"))
    assert answer(dir_config(tmp_path), subject="sign-in code") is None
    assert answer(dir_config(tmp_path), subject="newsletter") == "666666"


def test_a_maildir_mail_is_kept_marked_read_or_deleted(tmp_path: Path) -> None:
    box = maildir(tmp_path)
    key = deliver(box, mail("your code is 777777"))
    assert answer(dir_config(tmp_path)) == "777777"
    assert box.get_message(key).get_subdir() == "new" and "S" not in box.get_message(key).get_flags()
    assert answer(dir_config(tmp_path), then="mark_read") == "777777"
    box = maildir(tmp_path)
    assert box.get_message(key).get_subdir() == "cur" and "S" in box.get_message(key).get_flags()
    assert answer(dir_config(tmp_path), then="delete") == "777777"
    assert len(maildir(tmp_path)) == 0
    assert answer(dir_config(tmp_path)) is None


def test_an_mbox_answers_with_its_newest_matching_mail_and_can_mark_or_delete_it(tmp_path: Path) -> None:
    path = tmp_path / "qa.mbox"
    box = mailbox.mbox(path)
    deliver(box, mail("your code is 100001"), age_s=7200)
    deliver(box, mail("your code is 200002", to="bob@example.test"))
    deliver(box, mail(html="<p>Your code is <b>300003</b></p>"))  # HTML-only
    box.close()
    config = MboxConfig(type="mbox", path=str(path))
    assert answer(config) == "300003"
    assert answer(config, then="mark_read") == "300003"
    assert "R" in [m for m in mailbox.mbox(path)][-1].get_flags()
    assert answer(config, then="delete") == "300003"
    assert len(mailbox.mbox(path)) == 2
    assert answer(config) is None  # the old one (two hours ago) and Bob's never answer


def test_no_matching_mail_gives_up_at_the_timeout(tmp_path: Path) -> None:
    deliver(maildir(tmp_path), mail("no code here"))
    assert answer(dir_config(tmp_path), timeout_s=0.3) is None


def test_a_mail_delivered_while_waiting_answers(tmp_path: Path) -> None:
    import threading

    box = maildir(tmp_path)
    later = threading.Timer(0.3, lambda: deliver(box, mail("your code is 909090")))
    later.start()
    try:
        assert answer(dir_config(tmp_path), timeout_s=30) == "909090"
    finally:
        later.cancel()


@pytest.mark.parametrize("kind", ["maildir", "mbox"])
def test_a_missing_mailbox_says_where_it_looked(tmp_path: Path, kind: str) -> None:
    from automation.mail import MailboxError

    config = (MaildirConfig if kind == "maildir" else MboxConfig)(type=kind, path=str(tmp_path / "nope"))  # type: ignore[arg-type]
    with pytest.raises(MailboxError, match=str(tmp_path / "nope")):
        answer(config)
