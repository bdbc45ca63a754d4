using System.Globalization;
using System.Text;

namespace Service.Models.Text;

/// <summary>
/// The BERT reference tokenizer's first step (HuggingFace <c>BasicTokenizer._clean_text</c>; BertNormalizer
/// <c>clean_text</c>): every code point of Unicode category C — control (Cc), format (Cf: U+200B, U+00AD, …),
/// surrogate (Cs: an unpaired <c>\ud800</c>), private use (Co) and unassigned (Cn: the noncharacters U+FFFE, U+FFFF,
/// U+FDD0–U+FDEF) — is removed, as are U+0000 and U+FFFD, except tab, line feed and carriage return; those and every
/// other White_Space code point (U+2028, U+3000, …) become a space.
/// </summary>
/// <remarks>
/// Cleaning first means no later step (Unicode normalisation, WordPiece) ever sees a code point it refuses. A text that
/// is empty or whitespace once cleaned, or once the uncased tokenizer has stripped its nonspacing (combining) marks, has
/// nothing to embed (<see cref="IsBlank"/>).
/// </remarks>
public static class TextCleaning
{
    public static string Clean(string text)
    {
        if (!NeedsCleaning(text))
            return text;
        var builder = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes()) // an unpaired surrogate arrives as U+FFFD, which is removed
        {
            if (IsRemoved(rune))
                continue;
            if (Rune.IsWhiteSpace(rune))
                builder.Append(' ');
            else
                builder.Append(rune.ToString());
        }
        return builder.ToString();
    }

    /// <summary>
    /// True when nothing but whitespace is left after <see cref="Clean"/> and the uncased tokenizer's accent stripping
    /// (NFD, then every nonspacing mark dropped): "", "\u200b", "\u0000", "\u00ad", "\u2028 ", "\u0301"; not "e\u0301".
    /// </summary>
    public static bool IsBlank(string text)
    {
        foreach (var rune in Clean(text).Normalize(NormalizationForm.FormD).EnumerateRunes())
        {
            if (!Rune.IsWhiteSpace(rune) && Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark)
                return false;
        }
        return true;
    }

    /// <summary>The first code point that <see cref="Clean"/> removes or accent stripping drops, for messages; null when none.</summary>
    public static int? FirstRemoved(string text)
    {
        foreach (var rune in text.EnumerateRunes())
        {
            if (IsRemoved(rune) || Rune.GetUnicodeCategory(rune) == UnicodeCategory.NonSpacingMark)
                return rune.Value;
        }
        return null;
    }

    static bool NeedsCleaning(string text)
    {
        foreach (var c in text)
        {
            if (c < 0x20 || c >= 0x7F)
                return true;
        }
        return false;
    }

    static bool IsRemoved(Rune rune) =>
        rune.Value is not ('\t' or '\n' or '\r')
        && (rune.Value is 0 or 0xFFFD || Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned);
}
