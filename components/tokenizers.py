"""A tokenizer for fans who write English, Chinese, or both in one message."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

# "两张", "3个", "十位", "一大一小": a number glued to a measure word (or to 大/小,
# adult/child). Splitting it lets the number carry the `quantity` entity on its own token.
_COUNTED = re.compile(r"^([0-9０-９]+|[一二两三四五六七八九十]+)(张|個|个|位|人|套|大|小)$")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class MixedScriptTokenizer(JiebaTokenizer):
    """Jieba segmentation without whitespace tokens, lower-cased, numbers split.

    Rasa's JiebaTokenizer keeps the spaces between English words as tokens and
    glues Chinese numbers to their measure words; both hurt the classifier.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        config = JiebaTokenizer.get_default_config()
        config["dictionary_path"] = None
        return config

    @staticmethod
    def supported_languages() -> None:  # type: ignore[override]
        return None

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        tokens: List[Token] = []
        for token in super().tokenize(message, attribute):
            if not token.text.strip():
                continue
            counted = _COUNTED.match(token.text)
            if counted:
                number = counted.group(1)
                tokens.append(Token(number, token.start))
                tokens.append(Token(token.text[len(number) :], token.start + len(number)))
            else:
                tokens.append(token)
        return tokens
