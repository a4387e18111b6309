using System.Text;
using Virtualization.Core.Lifecycle;
using Virtualization.Core.Tests.Infrastructure;

namespace Virtualization.Core.Tests.Lifecycle;

/// <summary>
/// The CID cursor file's content rules and the abstract socket name limit, at their boundaries. Expected values are
/// written out (2^62 = 4611686018427387904; sun_path holds 108 bytes, the first of them the abstract namespace's NUL).
/// </summary>
public sealed class CidCursorTests : IDisposable
{
    private readonly TempDir _temp = new("vct-cid-cursor-");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("", 0L)]
    [InlineData("17\n", 17L)]
    [InlineData("4611686018427387904\n", 4611686018427387904L)] // exactly 2^62, the largest accepted
    [InlineData("4611686018427387905\n", null)] // one above
    [InlineData("-1\n", null)]
    [InlineData("12x\n", null)]
    [InlineData("000000000000000000000000000012\n", 12L)] // 31 bytes: fits the 32-byte read
    [InlineData("0000000000000000000000000000012\n", null)] // 32 bytes fill the read, so the value may be cut: refused
    public void Read_AcceptsCountersUpTo2To62_AndNothingElse(string content, long? expected)
    {
        string path = Path.Combine(_temp.Path, "cursor");
        File.WriteAllBytes(path, Encoding.ASCII.GetBytes(content));

        using CidCursor cursor = CidCursor.Lock(path);

        cursor.Read().Should().Be(expected);
    }

    [Fact]
    public void Write_ReplacesTheWholeContent()
    {
        string path = Path.Combine(_temp.Path, "cursor");
        File.WriteAllText(path, "123456789\n");

        using (CidCursor cursor = CidCursor.Lock(path))
        {
            cursor.Write(42);
            cursor.Read().Should().Be(42);
        }

        File.ReadAllText(path).Should().Be("42\n");
    }

    [Fact]
    public void AbstractName_Of107Bytes_Fits_And108DoNot()
    {
        byte[] address = AbstractSocketAddress.Create(new string('n', 107));

        address.Length.Should().Be(2 + 1 + 107);
        address[2].Should().Be(0, "the abstract namespace starts with a NUL");
        BitConverter.ToUInt16(address, 0).Should().Be(1, "AF_UNIX");

        string tooLong = new('n', 108);
        Action create = () => AbstractSocketAddress.Create(tooLong);
        create.Should().Throw<ArgumentException>().WithParameterName("name")
            .WithMessage($"The abstract socket name '{tooLong}' is 108 bytes long; at most 107 fit in a sockaddr_un.*");
    }
}
