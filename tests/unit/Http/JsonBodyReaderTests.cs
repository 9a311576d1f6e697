using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Nv.Host.Http;

namespace Nv.Unit.Tests.Http;

public sealed class JsonBodyReaderTests
{
    [Fact]
    public async Task The_parsed_body_does_not_share_the_pooled_buffer_it_was_read_into()
    {
        var reader = new JsonBodyReader(Options.Create(new HttpOptions()));
        var value = new string('a', 3000);
        var context = new DefaultHttpContext();
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes("{\"v\":\"" + value + "\"}"));

        var (document, error) = await reader.ReadObjectAsync(context, allowMergePatch: false, TestContext.Current.CancellationToken);

        Assert.Null(error);
        using (document)
        {
            // Another request on this thread rents the array the body was read into (the pool hands the last returned one
            // back) and fills it with its own body, while this request still holds its document (PATCH awaits a read).
            for (var i = 0; i < 4; i++)
            {
                var rented = ArrayPool<byte>.Shared.Rent(16 * 1024);
                rented.AsSpan().Fill((byte)'x');
                ArrayPool<byte>.Shared.Return(rented);
            }

            Assert.Equal(value, document!.RootElement.GetProperty("v").GetString());
        }
    }
}
