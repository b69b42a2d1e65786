"""The `mailbox:` of an environment, as written in environments.yaml (checked there, with file:line errors).

mailbox: sandbox                                   the embedded sandbox's outbox
mailbox: http://127.0.0.1:8700/_sandbox/mail       a served sandbox's outbox
mailbox: {type: imap, host: mail.example.com, port: 993, tls: ssl, user_env: QA_MAIL_USER,
          password_env: QA_MAIL_PASSWORD, folder: INBOX}
mailbox: {type: maildir, path: /var/mail/qa}       a Maildir folder (relative: to the environments file)
mailbox: {type: mbox, path: /var/mail/qa.mbox}
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

TLS_PORTS = {"ssl": 993, "starttls": 143, "none": 143}


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImapConfig(_Config):
    type: Literal["imap"]
    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535, description="993 with tls: ssl, else 143")
    tls: Literal["ssl", "starttls", "none"] = Field(
        default="ssl", description="ssl (IMAPS), starttls, or none (only for a server on this machine)"
    )
    user_env: str = Field(min_length=1, description="The variable holding the login")
    password_env: str = Field(min_length=1, description="The variable holding the password")
    folder: str = "INBOX"
    # read from the variables when the environment is resolved; never written in the file, never serialised
    user: str | None = Field(default=None, exclude=True)
    password: str | None = Field(default=None, exclude=True, repr=False)

    @property
    def effective_port(self) -> int:
        return self.port or TLS_PORTS[self.tls]

    def describe(self) -> str:
        return f"imap://{self.host}:{self.effective_port}/{self.folder}"


class MaildirConfig(_Config):
    type: Literal["maildir"]
    path: str = Field(min_length=1)

    def describe(self) -> str:
        return f"maildir {self.path}"


class MboxConfig(_Config):
    type: Literal["mbox"]
    path: str = Field(min_length=1)

    def describe(self) -> str:
        return f"mbox {self.path}"


MailboxConfig = Annotated[ImapConfig | MaildirConfig | MboxConfig, Field(discriminator="type")]
MAILBOX_TYPES = {"imap": ImapConfig, "maildir": MaildirConfig, "mbox": MboxConfig}
# keys the environments file may write (user and password come from the variables only)
WRITTEN_KEYS = {
    kind: sorted(set(model.model_fields) - {"user", "password"}) for kind, model in MAILBOX_TYPES.items()
}
mailbox_adapter: TypeAdapter[ImapConfig | MaildirConfig | MboxConfig] = TypeAdapter(MailboxConfig)
