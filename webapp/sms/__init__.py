"""SMS beside e-mail (issue #16, "Reach"): staff reminders and applicant notices by text message.

- ``providers``: one small interface, ``send(phone, template_code, params, out_id) -> message id``
  (raises ``SmsError``), with a ``log`` adapter (``make run``: writes to instance/sms/) and an
  ``aliyun`` adapter (Alibaba Cloud SMS ``SendSms``, RPC style, HMAC-SHA1 signed), chosen by
  SMS_BACKEND in config.py.
- ``texts``: the text of each notice kind, rendered from plain values in webapp/sandbox/, with
  the SMS length rules (70 characters in one message, 67 per part when concatenated; at most
  ``MAX_SEGMENTS`` parts).
- ``quiet``: quiet hours per agency (not-before times on outbox rows).
- ``outbox``: SMS rows in the one outbox (notify/outbox/, ``OutboxMail.channel == "sms"``): the
  same claim, delivery task and back-off as mail; the provider's OutId is the row id.
"""
