using System.ComponentModel.DataAnnotations;

namespace Service.Api.Hosting;

/// <summary>Who may call the admin routes, /v1/indexes ("Admin" section); validated at start.</summary>
public sealed class AdminOptions : IValidatableObject
{
    public const string Section = "Admin";

    /// <summary>The request header that carries the key.</summary>
    public const string KeyHeader = "X-API-Key";

    /// <summary>Shorter keys are refused at start: the key is the only thing guarding the admin routes.</summary>
    public const int MinKeyLength = 16;

    /// <summary>Prefix of a key given by its SHA-256 digest (64 hex digits), so configuration need not hold the secret.</summary>
    public const string HashPrefix = "sha256:";

    /// <summary>
    /// Keys accepted in <see cref="KeyHeader"/>, each either <c>sha256:&lt;hex digest of the key&gt;</c> (preferred: the
    /// configuration then holds no secret) or the key itself; with none, the admin routes answer 403.
    /// </summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>SHA-256 of every accepted key, in <see cref="ApiKeys"/> order.</summary>
    public IEnumerable<byte[]> KeyDigests() => ApiKeys.Select(key => key.StartsWith(HashPrefix, StringComparison.Ordinal)
        ? Convert.FromHexString(key[HashPrefix.Length..])
        : System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)));

    /// <summary>
    /// Whether <paramref name="presented"/> is one of <see cref="ApiKeys"/>. SHA-256 digests are compared in constant
    /// time against every key, so the time taken reveals neither where a guess differs, nor its length, nor which key matched.
    /// </summary>
    public bool Accepts(string presented)
    {
        var digest = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(presented));
        var match = false;
        foreach (var expected in KeyDigests())
            match |= System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(digest, expected);
        return match;
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        for (var i = 0; i < ApiKeys.Count; i++)
        {
            if (ApiKeys[i].StartsWith(HashPrefix, StringComparison.Ordinal))
            {
                var hex = ApiKeys[i][HashPrefix.Length..];
                if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
                    yield return new ValidationResult($"{Section}:{nameof(ApiKeys)}:{i} must be {HashPrefix} followed by the 64 hex digits of the key's SHA-256.", [nameof(ApiKeys)]);
            }
            else if (ApiKeys[i].Trim().Length < MinKeyLength)
                yield return new ValidationResult($"{Section}:{nameof(ApiKeys)}:{i} must have at least {MinKeyLength} non-blank characters.", [nameof(ApiKeys)]);
        }
    }
}
