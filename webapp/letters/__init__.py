"""Letters to applicants and third parties as .docx (补正告知书, 征求意见函, 延期答复告知书, 收费通知书,
政府信息公开申请答复书).

Each letter body is a Jinja text template: templates/letters/<kind>.txt, or an administrator's
override stored in the LetterTemplate table. ``render_letter(case, kind, **extra)`` fills it with the
case's data and lays it out in 仿宋 (East-Asian font set on every run).
"""

from .render import (LETTER_FOR_EVENT, LETTER_KINDS, LETTER_TITLES, letter_context, letter_filename,
                     letter_template_source, render_letter, render_letter_text, text_to_docx)

__all__ = ["LETTER_FOR_EVENT", "LETTER_KINDS", "LETTER_TITLES", "letter_context", "letter_filename",
           "letter_template_source", "render_letter", "render_letter_text", "text_to_docx"]
